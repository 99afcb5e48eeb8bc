"""The SpiffWorkflow adapter: safe parsing, restricted expressions, timers and the runtime."""
