"""The gate node: a Flask app on a gate laptop with its own SQLite database, syncing with the hub when it can."""
from flask import Blueprint, jsonify

from menwei.web.app import build_app
from menwei.gate.desk import bp as desk_bp
from menwei.web.errors import ApiError
from menwei.runtime import runtime
from sync.http_client import SyncFailed
from menwei.web.auth import allow

node_api = Blueprint("node_api", __name__, url_prefix="/api/v1")


@node_api.post("/sync/run")
@allow("operator", "volunteer")
def sync_now():
    """Run one sync round now and report its outcome."""
    client = runtime().sync_client()
    try:
        st = client.sync_once()
    except SyncFailed as e:
        raise ApiError(502, f"sync failed: {e}", code=e.code or "sync_failed") from None
    return jsonify({"ok": True, "pending": st.pending, "skew_ms": st.skew_ms,
                    "last_success_ms": st.last_success_ms})

#: What only a node serves, beside what every app serves (menwei.web.app.shared_blueprints).
NODE_FEATURES = (node_api, desk_bp)  # the desk page is a node's "/"


def create_app(test_config=None, instance_path=None):
    """Create the gate node app."""
    app = build_app(__name__, "node", NODE_FEATURES, test_config, instance_path)
    return app
