"""retention: legal holds and the deletion mark of a case's content

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

``case_retention`` holds, per case, a legal hold (reason, who, when) that keeps the case's
content beyond the retention period, and the moment (and rule) its content was deleted. The
audit table needs no change: migration 0005 already lets exactly one update through, the
redaction of an entry's details, whose hash the chain keeps.
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_retention',
        sa.Column('case_id', sa.Uuid(), sa.ForeignKey('case_file.id'), primary_key=True),
        sa.Column('legal_hold_reason', sa.Text(), nullable=True),
        sa.Column('legal_hold_by', sa.String(100), nullable=True),
        sa.Column('legal_hold_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('content_deleted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('deleted_by_rule', sa.String(100), nullable=True))


def downgrade() -> None:
    op.drop_table('case_retention')
