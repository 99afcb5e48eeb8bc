"""The KIM Casework engine: runs BPMN process models, keeps tasks and timers in our own tables.

It knows nothing of Flask; the web app and the scheduler are entry points that call
``engine.services``.
"""
