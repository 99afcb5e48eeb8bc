"""The scheduler process: fires due timer rows; APScheduler is only used as a clock."""
