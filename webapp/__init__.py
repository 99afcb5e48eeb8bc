"""The Flask web app (inbox, cases, supervisor, modeler, REST API)."""
