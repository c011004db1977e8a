"""The community hub: a replica like every node, that also answers the nodes' pushes and pulls."""
from menwei.app_base import build_app
from menwei.auth import mark_public
from menwei.reconcile_views import api as reconcile_api, pages as reconcile_pages
from sync.http_recovery import bp as recovery_bp
from sync.http_server import bp as sync_bp

from .admin import bp as admin_bp


def create_app(test_config=None, instance_path=None):
    """Create the hub app."""
    app = build_app(__name__, "hub", test_config, instance_path)
    app.register_blueprint(sync_bp)
    app.register_blueprint(recovery_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(reconcile_api)
    app.register_blueprint(reconcile_pages)
    mark_public(app, "sync.")  # nodes sign their sync requests with their own tokens
    mark_public(app, "sync_recovery.")
    return app
