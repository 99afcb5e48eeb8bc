"""Pure domain values (offices, deadlines, task states): dataclasses and enums, no I/O."""
