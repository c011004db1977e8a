"""The schema check every start makes, done without Alembic when there is nothing to migrate.

Importing Alembic (with Mako and Pygments) costs a process about 11 MB, and a gate laptop's node has
about 80 MB in all. A database already at the newest revision needs one SELECT to confirm it, and an
empty one is created from the declarations and stamped with one INSERT into Alembic's own version
table, exactly as Alembic's stamp would; only an older database (or a newer, unknown one) goes on to
menwei/store/migrate.py and Alembic.
"""
import os
import re

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, inspect, text

VERSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations", "versions")
#: The same advisory lock menwei/store/migrate.py takes: workers creating one database at once take turns.
LOCK_KEY = 0x6D656E776569


class SchemaError(Exception):
    """The database's schema revision does not fit this version of Menwei; the message says what to do."""


# Alembic's version table, declared as Alembic declares it.
_version_table = Table("alembic_version", MetaData(), Column("version_num", String(32), nullable=False),
                       PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


def head():
    """The newest revision, from the revision files' numbers (revisions are 0001, 0002, … in one line)."""
    return max(name[:4] for name in os.listdir(VERSIONS) if re.match(r"\d{4}_\w+\.py$", name))


def _revision(conn):
    """The revision stamped in the database, None if it has no version table or no row in it."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def ready(engine, metadata):
    """Return True if the database is at the head, creating an empty one there first; False: Alembic decides.

    A database without a version table but with Menwei's tables predates migrations: that, like any
    other revision, is left to migrate.prepare.
    """
    with engine.connect() as conn:
        if _revision(conn) == head():
            return True
    conn = engine.connect().execution_options(sqlite_begin="IMMEDIATE")
    try:
        conn.begin()
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        if _revision(conn) == head():  # another process made it meanwhile
            conn.rollback()
            return True
        names = set(inspect(conn).get_table_names())
        if names & set(metadata.tables) or "alembic_version" in names:
            conn.rollback()  # an older database, or one from before migrations: the full check
            return False
        metadata.create_all(conn)
        _version_table.create(conn)
        conn.execute(_version_table.insert().values(version_num=head()))
        conn.commit()
        return True
    finally:
        conn.close()
