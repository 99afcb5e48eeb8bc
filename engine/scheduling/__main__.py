"""``python -m engine.scheduling``: one scheduler process (the same as ``kim scheduler``)."""

from engine.scheduling.scheduler import main

raise SystemExit(main())
