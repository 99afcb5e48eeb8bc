"""Supervision: the office leads' and the KIM coordination's dashboard (Steuerung).

``scope`` decides who sees which offices, ``queries`` counts in SQL, ``tables`` suppresses
small counts (the only place that does), ``dashboard`` assembles the report and ``export``
writes it as CSV for German Excel.
"""
