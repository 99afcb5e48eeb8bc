"""Notifications: who hears about an event, the in-app list, the mail outbox and the daily digest."""
