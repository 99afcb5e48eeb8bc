"""Use cases: each function opens no session itself, commits once and raises engine errors."""
