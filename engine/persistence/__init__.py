"""SQLAlchemy models, the unit of work and the Alembic migrations."""
