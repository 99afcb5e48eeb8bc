"""The migrations create exactly the schema the models describe, on every database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.persistence.models import Base
from engine.services.context import EngineContext


def test_migrations_match_the_models(ctx: EngineContext) -> None:
    with ctx.db.write.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
