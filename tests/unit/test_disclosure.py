"""One threshold for every aggregated report: counts of 1 to 4 are withheld, zero is shown."""

from __future__ import annotations

import pytest

from engine.domain.disclosure import SUPPRESS_BELOW, is_small_count


@pytest.mark.parametrize(("value", "small"), [
    (0, False), (1, True), (4, True), (5, False), (120, False), (None, False), (True, False), (3.0, False)])
def test_counts_of_one_to_four_are_withheld(value: object, small: bool) -> None:
    assert is_small_count(value) is small


def test_dashboard_and_indicators_share_the_threshold() -> None:
    from engine.services.reporting import disclosure, kpi_figures

    assert SUPPRESS_BELOW == 5
    assert kpi_figures.MIN_COUNT == SUPPRESS_BELOW
    assert disclosure.is_small(4)
    assert not disclosure.is_small(5)
    assert kpi_figures.suppress(4) == disclosure.withhold(4) == (None, True)
