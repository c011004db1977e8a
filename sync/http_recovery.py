"""HTTP adapter of recovery at the hub: GET /sync/v1/own gives a node back its own changes.

Only for a node that lost changes the hub has (sync/recovery.py); a normal pull leaves them out.
"""
import json

from flask import Blueprint, request

from .http_server import SyncError, _ctx, _node, _respond, _sync_error, node_query
from .recovery import own_page_json
from .wire import MAX_INT, PullQuery

bp = Blueprint("sync_recovery", __name__, url_prefix="/sync/v1")
bp.register_error_handler(SyncError, _sync_error)


@bp.get("/own")
def own_changes():
    """Return, in order, the calling node's own changes numbered after ``after``, from log position ``cursor``."""
    node = _node()
    ctx = _ctx()
    q = node_query(ctx, node, PullQuery(), "request")
    after = request.args.get("after", "0")
    if not after.isdigit() or int(after) > MAX_INT:  # past 64 bits the database would fail, not refuse
        raise SyncError(400, "after must be a sequence number (0 or more)", "invalid", fields={"after": "not a number"})
    frags, cursor, more = own_page_json(ctx.replica, node["id"], int(after), q["cursor"], q["limit"])
    return _respond('{"changes":[' + ",".join(frags) + f'],"cursor":{cursor},"more":{json.dumps(more)},'
                    f'"hub_clock_ms":{ctx.replica.clock.wall()},"schema_version":{ctx.catalog.schema_version},'
                    f'"node_seq":{ctx.replica.seen_seq(node["id"])}}}')
