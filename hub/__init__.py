"""The community hub: a replica like every node, that also answers the nodes' pushes and pulls."""
from menwei.web.app import build_app
from menwei.web.auth import mark_public
from menwei.reports.dashboard_views import home as dashboard_home
from menwei.reconcile.views import api as reconcile_api, pages as reconcile_pages
from sync.http_recovery import bp as recovery_bp
from sync.http_server import bp as sync_bp

from .admin import bp as admin_bp

#: What only the hub serves, beside what every app serves (menwei.web.app.shared_blueprints).
HUB_FEATURES = (sync_bp, recovery_bp, admin_bp, reconcile_api, reconcile_pages,
                dashboard_home)  # the hub's "/"; a node's is its gate desk


def create_app(test_config=None, instance_path=None):
    """Create the hub app."""
    app = build_app(__name__, "hub", HUB_FEATURES, test_config, instance_path)
    mark_public(app, "sync.")  # nodes sign their sync requests with their own tokens
    mark_public(app, "sync_recovery.")
    return app
