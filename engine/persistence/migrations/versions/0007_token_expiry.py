"""api_token.expires_at: personal API tokens expire (KIM_TOKEN_DAYS, default 365 days)

Tokens made before this revision expire 365 days after they were made.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

DEFAULT_TOKEN_DAYS = 365


def upgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    token = sa.table('api_token', sa.column('id', sa.Integer()), sa.column('created_at', sa.DateTime(timezone=True)),
                     sa.column('expires_at', sa.DateTime(timezone=True)))
    conn = op.get_bind()
    for row in conn.execute(sa.select(token.c.id, token.c.created_at)).all():
        conn.execute(token.update().where(token.c.id == row.id)
                     .values(expires_at=row.created_at + timedelta(days=DEFAULT_TOKEN_DAYS)))


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
