"""task.audience (tasks for the office leads), case_conference (Fallkonferenz)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=16), nullable=True))
    op.create_table(
        'case_conference',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('case_id', sa.Uuid(), nullable=False),
        sa.Column('instance_id', sa.Uuid(), nullable=False),
        sa.Column('convener_office_id', sa.Integer(), nullable=False),
        sa.Column('offices', sa.JSON(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('agenda', sa.Text(), nullable=False),
        sa.Column('convened_by', sa.String(length=100), nullable=False),
        sa.Column('convened_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case_file.id']),
        sa.ForeignKeyConstraint(['convener_office_id'], ['office.id']),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_id'),
    )
    op.create_index('ix_case_conference_case_id', 'case_conference', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_conference_case_id', table_name='case_conference')
    op.drop_table('case_conference')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_column('audience')
