"""Timers: fire due BPMN timers, "due soon" reminders and escalation levels."""
