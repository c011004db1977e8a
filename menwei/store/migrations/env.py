"""Alembic's environment: run revisions on the connection Menwei hands over (see menwei/store/migrate.py).

The target metadata is the live one (menwei/tables.py through menwei/db.py), used only to
autogenerate a new revision and to check the head matches it; revisions themselves never read it.
"""
from alembic import context
from sqlalchemy import create_engine

from menwei.store.db import db


def _run(connection):
    # render_as_batch: SQLite can only add columns in place; other changes copy the table, and batch
    # mode writes revisions that do that on SQLite and plain ALTERs on PostgreSQL.
    context.configure(connection=connection, target_metadata=db.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _main():
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


_main()
