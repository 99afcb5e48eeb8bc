"""Statistical disclosure control for aggregated reports (DOMAIN.md section 7).

One threshold for every report - the supervisor dashboard and the indicators for the Land alike:
a count of 1 to 4 people could identify them in a small municipality, so it is not shown.
Zero identifies nobody and is shown.
"""

from __future__ import annotations

from typing import Any

SUPPRESS_BELOW = 5


def is_small_count(value: Any) -> bool:
    """True for a count that must be withheld (1 to 4)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < SUPPRESS_BELOW
