"""consent.signed_on and consent.custodian (who signed for a minor), task.follow_up_reason

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('custodian', sa.String(length=200), nullable=True))
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_reason', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_column('follow_up_reason')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_column('custodian')
        batch_op.drop_column('signed_on')
