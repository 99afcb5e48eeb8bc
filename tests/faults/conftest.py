"""The fault tests reuse the web fixtures (an app on a fresh database, users with tokens)."""

from tests.webapp.conftest import open_case, web  # noqa: F401  # fixtures, found by name
