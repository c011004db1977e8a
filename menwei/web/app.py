"""The part of the app factory a hub and a node share: config, database, replica, errors, API."""
import logging
import os
import secrets

from flask import Blueprint, Flask, current_app
from werkzeug.middleware.proxy_fix import ProxyFix

from sync.sql_store import configure_sqlite

from menwei.store import schema_fast
from menwei.web.auth import csrf_token, current_principal, enforce
from menwei.config import load_config
from menwei.store.db import db
from menwei.web.errors import ApiError, StrictJSONProvider, check_json_body, register_error_handlers
from menwei.web.headers import add_security_headers
from menwei.runtime import Runtime
from menwei.times import local_text


#: Feature packages whose own static files are served under /assets/<package>/ (templates sit beside their views).
ASSET_PACKAGES = ("accounts", "basket", "gate", "manage", "reconcile", "reports", "roster")


def shared_blueprints():
    """The blueprints hub and node both serve: every feature's API and pages, and the shared assets."""
    from menwei.accounts.views import bp as accounts_bp
    from menwei.basket.views import api as basket_api, pages as basket_pages
    from menwei.gate.checks import bp as gate_bp
    from menwei.gate.desk import api as desk_api
    from menwei.gate.passes import api as passes_api, pages as passes_pages
    from menwei.gate.rule_views import bp as gate_rules_bp
    from menwei.manage.views import api as manage_api, pages as manage_pages
    from menwei.reports.dashboard_views import api as dashboard_api, pages as dashboard_pages
    from menwei.reports.exports import api as exports_api, pages as exports_pages
    from menwei.reports.views import api as reports_api, pages as reports_pages
    from menwei.roster.views import api as roster_api, pages as roster_pages
    from menwei.web.openapi import bp as openapi_bp
    from menwei.web.rows import bp as rows_bp
    assets = [Blueprint("assets", __name__, static_folder="static", static_url_path="/assets",
                        template_folder="templates")]  # the page frame and the shared page script
    assets += [Blueprint(f"{name}_assets", f"menwei.{name}", static_folder="static",
                         static_url_path=f"/assets/{name}") for name in ASSET_PACKAGES]
    return [dashboard_api, dashboard_pages, reports_api, reports_pages, exports_api, exports_pages,
            manage_pages, manage_api, basket_api, basket_pages, roster_api, roster_pages, passes_api,
            passes_pages, rows_bp, gate_bp, gate_rules_bp, desk_api, accounts_bp, openapi_bp, *assets]


def build_app(import_name, role, features=(), test_config=None, instance_path=None):
    """Create a Flask app for ``role`` ("hub" or "node") with its database ready, the shared blueprints and
    ``features`` (the blueprints only this kind of app serves) mounted."""
    app = Flask(import_name, instance_relative_config=True, instance_path=instance_path)
    app.json = StrictJSONProvider(app)
    load_config(app, role, test_config)
    app.json.ensure_ascii = False  # Chinese names stay readable in API answers
    db.init_app(app)
    _secure_files(app)
    with app.app_context():
        configure_sqlite(db.engine, app.config["SQLITE_SYNCHRONOUS"], app.config["SQLITE_CACHE_KB"],
                         app.config["SQLITE_WAL_AUTOCHECKPOINT"])
        prepare_schema(app, db.engine)
        app.extensions["menwei"] = rt = Runtime(app, db.engine)
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = _secret_key(rt)
    register_error_handlers(app)
    for blueprint in shared_blueprints() + list(features):
        app.register_blueprint(blueprint)
    if app.config["PROXY_COUNT"]:  # behind nginx: the client's address and scheme come in its headers
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    app.before_request(enforce)
    app.before_request(check_json_body)  # after the access check: strangers' bodies are not even parsed
    app.context_processor(_page_context)
    app.add_template_filter(_local_time, "local_time")
    app.add_template_filter(_place, "place")  # {{ gate|place }}: a gate's name, not its node id
    app.after_request(add_security_headers)
    logging.getLogger("menwei").setLevel(logging.INFO)
    return app


def prepare_schema(app, engine):
    """Create a new database at the newest revision; upgrade an older one (nodes) or refuse (hubs).

    A node is one process on a laptop nobody administers, so it upgrades itself, keeping a backup
    copy first; a hub may run several workers and is upgraded by its admin with `menwei hub upgrade`.
    Raises migrate.SchemaError with what to do.
    """
    if schema_fast.ready(engine, db.metadata):  # at the head, or new: no need to load Alembic
        return
    from menwei.store import migrate
    log = logging.getLogger("menwei")

    def backup_first(revision):
        from menwei.store.backup import BackupError, backup, sqlite_path
        try:
            path = sqlite_path(app.config["DATABASE_URL"])
        except BackupError:
            return
        copy = f"{path}.rev{revision}.bak"
        backup(path, copy)
        log.info("database at revision %s backed up to %s before upgrading", revision, copy)

    before = migrate.prepare(engine, db.metadata, app.config["ROLE"], app.config["AUTO_UPGRADE"], backup_first)
    if before not in (None, migrate.head()):
        log.info("database upgraded from revision %s to %s", before, migrate.head())


def _secure_files(app):
    """Keep an SQLite database private (0600, its directory 0700), however it was created or restored."""
    from menwei.store.backup import BackupError, sqlite_path
    from menwei.store.file_modes import private_dir, secure_database
    try:
        path = sqlite_path(app.config["DATABASE_URL"])
    except BackupError:  # PostgreSQL: its server keeps the files
        path = None
    if os.path.isdir(app.instance_path):
        private_dir(app.instance_path)
    if path is not None:
        private_dir(os.path.dirname(path))
        if not os.path.exists(path):  # SQLite gives a new file the process's umask: make it private now
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        secure_database(path)


def _secret_key(rt):
    """The key that signs session cookies: made once and kept, so a restart does not sign everyone out."""
    with rt.store.write() as tx:  # in a write transaction: several workers starting at once agree on one key
        key = tx.get_state("secret_key")
        if key is None:
            key = secrets.token_hex(32)
            tx.set_state("secret_key", key)
    return key


def _local_time(at, fmt="%Y-%m-%d %H:%M:%S"):
    """A stored UTC time as the compound's local time on a page (``TIMEZONE``); empty for none."""
    return local_text(at, current_app.config["TIMEZONE"], fmt) if at else ""


def _place(node_id):
    """A gate's name for its node id (menwei.gate.queries.place_name)."""
    from menwei.gate.queries import place_name  # the gate package's queries need a running app, as pages do
    return place_name(node_id)


def _page_context():
    """What every page template may use: the signed-in principal and the CSRF token for scripts and forms."""
    try:
        who = current_principal()
    except ApiError:  # rendering the error page of a bad token: no one is signed in
        who = None
    return {"principal": who, "csrf_token": csrf_token}
