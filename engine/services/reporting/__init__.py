"""Reporting: the supervisor dashboard and the indicators (Kennzahlen), with small counts withheld."""
