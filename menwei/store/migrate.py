"""Schema revisions with Alembic: a new database is created at the head, an older one is upgraded.

Plain Alembic, driven from here, not Flask-Migrate: the `menwei` command already is the CLI
(`menwei hub upgrade`, `menwei node upgrade`), revisions run on a connection without an app, and
the tables come from declarations (menwei/tables.py), not ORM models.

Revisions live in menwei/store/migrations/versions, numbered 0001, 0002…; each names the
SCHEMA_VERSION it brings. A new one: ``python -m menwei.store.migrate "what changed"``.
"""
import functools
import os
import sys
import tempfile

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, inspect, text

from menwei.store.schema_fast import SchemaError  # noqa: F401 (raised here, defined where starting needs no Alembic)

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")
#: The oldest revision a database made before Menwei had migrations (by create_all) can be at.
BASELINE = "0001"
_LOCK_KEY = 0x6D656E776569  # "menwei": a PostgreSQL advisory lock, so workers starting at once take turns


def alembic_config(connection=None, url=None):
    """An Alembic Config for our revisions, bound to an open connection (or a URL, for the alembic CLI)."""
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def scripts():
    """The revision scripts (read once per process)."""
    return ScriptDirectory.from_config(alembic_config())


def head():
    """The newest revision this Menwei knows."""
    return scripts().get_current_head()


def schema_version_of(revision):
    """The SCHEMA_VERSION a revision brings (declared in its script)."""
    return scripts().get_revision(revision).module.schema_version


def current_revision(connection):
    """The revision a database is at: None when it is empty; for one made before migrations, the newest
    revision whose ``present(inspector)`` recognises it, else BASELINE."""
    rev = MigrationContext.configure(connection).get_current_revision()
    if rev is not None:
        return rev
    inspector = inspect(connection)
    if not inspector.has_table("sync_state"):
        return None
    for script in scripts().walk_revisions():  # newest first
        present = getattr(script.module, "present", None)
        if present is not None and present(inspector):
            return script.revision
    return BASELINE


def _begin(engine):
    """A connection in a transaction that holds the schema lock (several processes may start at once)."""
    conn = engine.connect().execution_options(sqlite_begin="IMMEDIATE")
    conn.begin()
    if engine.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    return conn


def _stamp(conn, revision):
    MigrationContext.configure(conn).stamp(scripts(), revision)


def _known(rev):
    try:
        return scripts().get_revision(rev) is not None
    except CommandError:
        return False


def prepare(engine, metadata, role, auto_upgrade=False, before_upgrade=None):
    """Make the database fit this Menwei: create it at the head if empty, upgrade or refuse if older.

    Returns the revision it was at (None if it was empty). An older database is upgraded only with
    ``auto_upgrade`` (after ``before_upgrade(revision)``, e.g. a backup); otherwise SchemaError says
    to run ``menwei <role> upgrade``. A database newer than this Menwei is always refused.
    """
    conn = _begin(engine)
    try:
        rev = current_revision(conn)
        if rev is None:
            metadata.create_all(conn)
            _stamp(conn, head())
        elif rev != head() and _known(rev) and MigrationContext.configure(conn).get_current_revision() is None:
            _stamp(conn, rev)  # a database from before migrations: record where it stands
        conn.commit()
    finally:
        conn.close()
    if rev is None or rev == head():
        return rev
    if not _known(rev):
        raise SchemaError(f"the database is at schema revision {rev}, which this Menwei does not know: "
                          "it was upgraded by a newer Menwei; install that version")
    if not auto_upgrade:
        raise SchemaError(f"the database is at schema revision {rev} and this Menwei needs {head()}: "
                          f"stop every `menwei {role} run`, back up, then run `menwei {role} upgrade`")
    if before_upgrade is not None:
        before_upgrade(rev)
    upgrade(engine, metadata)
    return rev


def upgrade(engine, metadata, target="head"):
    """Bring the database to ``target`` in one transaction (an empty one is created at the head).

    Returns (revision before, revision after); before is None for a database just created.
    """
    conn = _begin(engine)
    try:
        before = current_revision(conn)
        if before is None:
            metadata.create_all(conn)
            _stamp(conn, head())
        else:
            if not _known(before):
                raise SchemaError(f"the database is at schema revision {before}, which this Menwei does not know: "
                                  "it was upgraded by a newer Menwei; install that version")
            if MigrationContext.configure(conn).get_current_revision() is None:
                _stamp(conn, before)
            command.upgrade(alembic_config(conn), target)
        after = MigrationContext.configure(conn).get_current_revision()
        conn.commit()
    finally:
        conn.close()
    return before, after


def new_revision(message):
    """Autogenerate the next numbered revision from the declarations' difference to the current head."""
    rev_id = f"{int(head()) + 1:04d}"
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/scratch.db")
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        with engine.begin() as conn:
            script = command.revision(alembic_config(conn), message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    return script.path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit('usage: python -m menwei.store.migrate "what changed"')
    print(new_revision(sys.argv[1]))
