"""The engine-step kernel: load specs, restore, run, prune, persist, project.

Every use case that moves a workflow (start, complete, fire a timer, migrate, retry) goes
through :mod:`engine.services.stepping.step`; what a step changes in our tables is decided in
:mod:`engine.services.stepping.projection`. Nothing here opens or commits a transaction.
"""
