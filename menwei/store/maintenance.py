"""What `menwei hub upgrade`, `menwei node upgrade`, `backup` and `restore` do, without starting an app.

These run while the app cannot (its database is at an older revision) or must not (a restore), so
they read the configuration themselves and open the database directly.
"""
import os

import click
from flask import Flask
from sqlalchemy import create_engine

from sync.sql_store import configure_sqlite

from menwei.store import backup as backups
from menwei.store import migrate
from menwei.config import load_config


def offline_config(role, data_dir):
    """The configuration a hub or node in ``data_dir`` would run with (menwei.cfg, MENWEI_* variables)."""
    app = Flask(f"menwei-{role}", instance_path=os.path.abspath(data_dir), instance_relative_config=True)
    return load_config(app, role)


def open_engine(cfg):
    """An engine on the configured database, set up as the apps set theirs up."""
    engine = create_engine(cfg["DATABASE_URL"], hide_parameters=True)
    configure_sqlite(engine, cfg["SQLITE_SYNCHRONOUS"], cfg["SQLITE_CACHE_KB"], cfg["SQLITE_WAL_AUTOCHECKPOINT"])
    return engine


def _sqlite_file(cfg):
    try:
        return backups.sqlite_path(cfg["DATABASE_URL"])
    except backups.BackupError:
        return None


def upgrade(role, data_dir, echo=click.echo):
    """Upgrade the database of a hub or node to this Menwei's revision, backing up an SQLite file first."""
    from menwei.store.db import db
    cfg = offline_config(role, data_dir)
    engine = open_engine(cfg)
    try:
        with engine.connect() as conn:
            before = migrate.current_revision(conn)
        path = _sqlite_file(cfg)
        if before not in (None, migrate.head()) and path:
            copy = f"{path}.rev{before}.bak"
            backups.backup(path, copy)
            echo(f"backed up revision {before} to {copy}")
        elif before not in (None, migrate.head()):
            echo("PostgreSQL: make sure you have a pg_dump from before this upgrade")
        try:
            before, after = migrate.upgrade(engine, db.metadata)
        except migrate.SchemaError as e:
            raise click.ClickException(str(e)) from None
    finally:
        engine.dispose()
    version = migrate.schema_version_of(after)
    if before is None:
        echo(f"database created at revision {after} (schema version {version})")
    elif before == after:
        echo(f"database already at revision {after} (schema version {version}): nothing to do")
    else:
        echo(f"database upgraded from revision {before} to {after} (schema version {version})")
    return before, after


def node_database_file(data_dir):
    """The SQLite file of the node in ``data_dir``; a ClickException when it is not one."""
    try:
        return backups.sqlite_path(offline_config("node", data_dir)["DATABASE_URL"])
    except backups.BackupError as e:
        raise click.ClickException(str(e)) from None
