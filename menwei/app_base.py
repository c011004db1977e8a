"""The part of the app factory a hub and a node share: config, database, replica, errors, API."""
import logging

from flask import Flask

from sync.sql_store import configure_sqlite

from .config import load_config
from .db import db
from .errors import register_error_handlers
from .runtime import Runtime


def build_app(import_name, role, test_config=None, instance_path=None):
    """Create a Flask app for ``role`` ("hub" or "node") with its database ready and the shared API mounted."""
    app = Flask(import_name, instance_relative_config=True, instance_path=instance_path)
    load_config(app, role, test_config)
    app.json.ensure_ascii = False  # Chinese names stay readable in API answers
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine, app.config["SQLITE_SYNCHRONOUS"], app.config["SQLITE_CACHE_KB"],
                         app.config["SQLITE_WAL_AUTOCHECKPOINT"])
        db.create_all()
        app.extensions["menwei"] = Runtime(app, db.engine)
    register_error_handlers(app)
    from .api import bp as api_bp
    from .desk import api as desk_api
    from .gate_checks import bp as gate_bp
    from .passes import api as passes_api, pages as passes_pages
    from .roster_views import api as roster_api, pages as roster_pages
    from .basket_views import api as basket_api, pages as basket_pages
    app.register_blueprint(basket_api)
    app.register_blueprint(basket_pages)
    app.register_blueprint(roster_api)
    app.register_blueprint(roster_pages)
    app.register_blueprint(passes_api)
    app.register_blueprint(passes_pages)
    app.register_blueprint(api_bp)
    app.register_blueprint(gate_bp)
    app.register_blueprint(desk_api)
    logging.getLogger("menwei").setLevel(logging.INFO)
    return app
