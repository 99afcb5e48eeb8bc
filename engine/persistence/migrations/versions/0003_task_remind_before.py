"""task remind_before (a held task keeps its model's reminder), indexes for reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remind_before', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_task_state_completed', ['state', 'completed_at'], unique=False)
        batch_op.create_index('ix_task_form_completed', ['form_key', 'completed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_form_completed')
        batch_op.drop_index('ix_task_state_completed')
        batch_op.drop_column('remind_before')

