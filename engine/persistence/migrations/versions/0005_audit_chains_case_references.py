"""audit: one hash chain per case plus one per user for entries without a case, signed
checkpoints; race-free case references per year; a task that ends drops its pending deadlines;
schedulers are woken by triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Existing audit entries keep their hashes: they become the "legacy" chain (verified as before).
The append-only triggers now allow exactly one kind of update: replacing an entry's details by
the redaction marker (retention), which the chain survives because hashes cover the details' hash.

The deadline trigger replaces a DELETE each step sent after completing or cancelling a task:
whatever ends a task (a step, a cancelled case, a model migration) drops its reminders and
escalations, and a step costs one statement less. Likewise the wake-up of sleeping schedulers
(PostgreSQL ``NOTIFY kim_timers``) comes from triggers on ``timer`` and on mail waiting in
``notification``, not from each writer remembering to send it.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

SYSTEM_CHAIN = '00000000-0000-0000-0000-000000000000'
LEGACY_CHAIN = '00000000-0000-0000-0000-000000000001'
GENESIS = '0' * 64
REDACTED = '{"redacted": true}'
FIRST_YEAR, LAST_YEAR = 2020, 2100
FIXED = ('id', 'at', 'actor', 'action', 'object_type', 'object_id', 'case_id', 'instance_id', 'prev_hash',
         'hash', 'chain', 'seq', 'details_hash')


def _uuid(value: str, dialect: str) -> str:
    return f"'{value}'" if dialect == 'postgresql' else f"'{value.replace('-', '')}'"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_append_only(dialect)
    op.add_column('audit', sa.Column('chain', sa.Uuid(), nullable=True))
    op.add_column('audit', sa.Column('seq', sa.BigInteger(), nullable=True))
    op.add_column('audit', sa.Column('details_hash', sa.String(64), nullable=True))
    op.execute(f"UPDATE audit SET chain = {_uuid(LEGACY_CHAIN, dialect)}, "
               "seq = (SELECT count(*) FROM audit AS earlier WHERE earlier.id <= audit.id)")
    op.create_index('ix_audit_chain_seq', 'audit', ['chain', 'seq'], unique=True)
    op.create_table(
        'audit_chain',
        sa.Column('chain', sa.Uuid(), primary_key=True),
        sa.Column('last_seq', sa.BigInteger(), nullable=False),
        sa.Column('last_hash', sa.String(64), nullable=False),
        sa.Column('checkpointed_seq', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_audit_chain_unchecked', 'audit_chain', ['checkpointed_seq', 'last_seq'])
    op.execute(f"INSERT INTO audit_chain (chain, last_seq, last_hash, checkpointed_seq) VALUES "
               f"({_uuid(SYSTEM_CHAIN, dialect)}, 0, '{GENESIS}', 0)")
    op.execute(f"INSERT INTO audit_chain (chain, last_seq, last_hash, checkpointed_seq, updated_at) "
               f"SELECT {_uuid(LEGACY_CHAIN, dialect)}, count(*), "
               f"COALESCE((SELECT hash FROM audit ORDER BY id DESC LIMIT 1), '{GENESIS}'), 0, max(at) FROM audit")
    op.execute(f"INSERT INTO audit_chain (chain, last_seq, last_hash, checkpointed_seq) "
               f"SELECT id, 0, '{GENESIS}', 0 FROM case_file")
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heads', sa.JSON(), nullable=False),
        sa.Column('prev_mac', sa.String(64), nullable=False),
        sa.Column('mac', sa.String(64), nullable=False))
    _create_triggers(dialect)
    _case_references(dialect)
    _task_end_drops_deadlines(dialect)
    if dialect == 'postgresql':
        _wake_schedulers()


def _wake_schedulers() -> None:
    """NOTIFY is delivered on commit and folded within a transaction: one wake per commit."""
    op.execute("""CREATE FUNCTION kim_wake_schedulers() RETURNS trigger AS $$
                  BEGIN PERFORM pg_notify('kim_timers', ''); RETURN NULL; END $$ LANGUAGE plpgsql""")
    op.execute("""CREATE TRIGGER timer_wakes_schedulers AFTER INSERT OR UPDATE OF fire_at ON timer
                  FOR EACH STATEMENT EXECUTE FUNCTION kim_wake_schedulers()""")
    op.execute("""CREATE TRIGGER mail_wakes_schedulers AFTER INSERT ON notification FOR EACH ROW
                  WHEN (NEW.mail_state = 'pending') EXECUTE FUNCTION kim_wake_schedulers()""")


def _task_end_drops_deadlines(dialect: str) -> None:
    ended = "('completed', 'cancelled')"
    delete = "DELETE FROM timer WHERE task_id = NEW.id AND fired_at IS NULL;"
    if dialect == 'postgresql':
        op.execute(f"""CREATE FUNCTION kim_task_ended() RETURNS trigger AS $$
                       BEGIN {delete} RETURN NULL; END $$ LANGUAGE plpgsql""")
        op.execute(f"""CREATE TRIGGER task_end_drops_deadlines AFTER UPDATE OF state ON task FOR EACH ROW
                       WHEN (NEW.state IN {ended} AND OLD.state NOT IN {ended})
                       EXECUTE FUNCTION kim_task_ended()""")
        return
    op.execute(f"""CREATE TRIGGER task_end_drops_deadlines AFTER UPDATE OF state ON task FOR EACH ROW
                   WHEN NEW.state IN {ended} AND OLD.state NOT IN {ended}
                   BEGIN {delete} END""")


def _drop_append_only(dialect: str) -> None:
    if dialect == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_append_only ON audit")
        op.execute("DROP FUNCTION IF EXISTS kim_audit_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_no_delete")


def _create_triggers(dialect: str) -> None:
    if dialect == 'postgresql':
        unchanged = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in FIXED)
        op.execute(f"""
            CREATE FUNCTION kim_audit_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND {unchanged} AND NEW.details::text = '{REDACTED}' THEN
                    RETURN NEW;  -- retention: the details are redacted, the chain stays
                END IF;
                RAISE EXCEPTION 'the audit table is append-only';
            END $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
                      FOR EACH ROW EXECUTE FUNCTION kim_audit_append_only()""")
        op.execute("""
            CREATE FUNCTION kim_audit_chain_head() RETURNS trigger AS $$
            BEGIN
                INSERT INTO audit_chain (chain, last_seq, last_hash, checkpointed_seq, updated_at)
                VALUES (NEW.chain, NEW.seq, NEW.hash, 0, NEW.at)
                ON CONFLICT (chain) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_hash = EXCLUDED.last_hash,
                    updated_at = EXCLUDED.updated_at WHERE EXCLUDED.last_seq > audit_chain.last_seq;
                RETURN NULL;
            END $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER audit_chain_head AFTER INSERT ON audit
                      FOR EACH ROW EXECUTE FUNCTION kim_audit_chain_head()""")
        return
    unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in FIXED)
    op.execute(f"""CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
                   WHEN NOT ({unchanged} AND NEW.details = '{REDACTED}')
                   BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END""")
    op.execute("""CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
                  BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END""")
    op.execute("""CREATE TRIGGER audit_chain_head AFTER INSERT ON audit BEGIN
                    INSERT INTO audit_chain (chain, last_seq, last_hash, checkpointed_seq, updated_at)
                    VALUES (NEW.chain, NEW.seq, NEW.hash, 0, NEW.at)
                    ON CONFLICT (chain) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash,
                        updated_at = excluded.updated_at WHERE excluded.last_seq > audit_chain.last_seq;
                  END""")


def _case_references(dialect: str) -> None:
    """PostgreSQL: one sequence per year (no lock, no retry; a rolled-back case leaves a gap).
    SQLite: a counter row per year, incremented under the database's single write lock."""
    op.create_table('case_reference_counter',
                    sa.Column('year', sa.Integer(), primary_key=True),
                    sa.Column('last', sa.Integer(), nullable=False))
    if dialect == 'postgresql':
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            op.execute(f"CREATE SEQUENCE kim_case_ref_{year} START 1")
            op.execute(f"""SELECT setval('kim_case_ref_{year}', n, true) FROM (
                               SELECT max(CAST(substring(reference FROM 10) AS integer)) AS n FROM case_file
                               WHERE reference LIKE 'KIM-{year}-%') found WHERE n IS NOT NULL""")
        return
    op.execute("""INSERT INTO case_reference_counter (year, last)
                  SELECT CAST(substr(reference, 5, 4) AS integer), max(CAST(substr(reference, 10) AS integer))
                  FROM case_file WHERE reference LIKE 'KIM-____-%' GROUP BY substr(reference, 5, 4)""")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS timer_wakes_schedulers ON timer")
        op.execute("DROP TRIGGER IF EXISTS mail_wakes_schedulers ON notification")
        op.execute("DROP FUNCTION IF EXISTS kim_wake_schedulers()")
        op.execute("DROP TRIGGER IF EXISTS task_end_drops_deadlines ON task")
        op.execute("DROP FUNCTION IF EXISTS kim_task_ended()")
    else:
        op.execute("DROP TRIGGER IF EXISTS task_end_drops_deadlines")
    if dialect == 'postgresql':
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            op.execute(f"DROP SEQUENCE IF EXISTS kim_case_ref_{year}")
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head ON audit")
        op.execute("DROP FUNCTION IF EXISTS kim_audit_chain_head()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head")
    op.drop_table('case_reference_counter')
    _drop_append_only(dialect)
    op.drop_table('audit_checkpoint')
    op.drop_index('ix_audit_chain_unchecked', table_name='audit_chain')
    op.drop_table('audit_chain')
    op.drop_index('ix_audit_chain_seq', table_name='audit')
    op.drop_column('audit', 'details_hash')
    op.drop_column('audit', 'seq')
    op.drop_column('audit', 'chain')
    if dialect == 'postgresql':
        op.execute("""CREATE FUNCTION kim_audit_append_only() RETURNS trigger AS $$
                      BEGIN RAISE EXCEPTION 'the audit table is append-only'; END; $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
                      FOR EACH ROW EXECUTE FUNCTION kim_audit_append_only()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER audit_no_{event.lower()} BEFORE {event} ON audit
                           BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END""")
