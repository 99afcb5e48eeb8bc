"""screening and screening_path: every residence-path screening run, stored per person and path

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'screening',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('run_id', sa.Uuid(), nullable=False),
        sa.Column('run_seq', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Uuid(), nullable=False),
        sa.Column('instance_id', sa.Uuid(), nullable=True),
        sa.Column('person', sa.String(length=64), nullable=False),
        sa.Column('relation', sa.String(length=16), nullable=True),
        sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('eval_date', sa.Date(), nullable=False),
        sa.Column('inputs', sa.JSON(), nullable=False),
        sa.Column('recommended', sa.String(length=32), nullable=True),
        sa.Column('result', sa.JSON(), nullable=False),
        sa.Column('trigger', sa.String(length=64), nullable=False),
        sa.Column('ran_by', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case_file.id']),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_screening_run_id', 'screening', ['run_id'], unique=False)
    op.create_index('ix_screening_case_run', 'screening', ['case_id', 'run_seq'], unique=False)
    op.create_table(
        'screening_path',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('screening_id', sa.Uuid(), nullable=False),
        sa.Column('path', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('missing', sa.JSON(), nullable=False),
        sa.Column('blocking', sa.JSON(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=True),
        sa.Column('rules', sa.JSON(), nullable=False),
        sa.Column('derived_from', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['screening_id'], ['screening.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_screening_path_screening_id', 'screening_path', ['screening_id'], unique=False)
    op.create_index('ix_screening_path_path_status', 'screening_path', ['path', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_screening_path_path_status', table_name='screening_path')
    op.drop_index('ix_screening_path_screening_id', table_name='screening_path')
    op.drop_table('screening_path')
    op.drop_index('ix_screening_case_run', table_name='screening')
    op.drop_index('ix_screening_run_id', table_name='screening')
    op.drop_table('screening')
