"""Coordinator-only parts of the hub: node registration and token revocation, and the API's access check."""
import hashlib
import secrets

from flask import Blueprint, jsonify
from marshmallow import RAISE, Schema, fields, validate

from menwei.web.errors import ApiError
from menwei.runtime import runtime
from menwei.store.queries import exists
from menwei.web.auth import allow, check_compound, served_nodes
from menwei.web.openapi import accepts

bp = Blueprint("hub_admin", __name__, url_prefix="/api/v1")


def new_admin_token():
    """Create a coordinator token, store its hash, and return the token (shown once)."""
    token = secrets.token_urlsafe(32)
    with runtime().store.write() as tx:
        tx.set_state("admin_token_hash", hashlib.sha256(token.encode()).hexdigest())
    return token


class AddNode(Schema):
    """Body of POST /api/v1/nodes."""

    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,62}$",
                                                              error="lower-case letters, digits and dashes"))
    compound_id = fields.String(required=True, validate=validate.Length(1, 64))
    label = fields.String(load_default="", validate=validate.Length(0, 200))


@bp.get("/nodes")
@allow("viewer")
def list_nodes():
    """List registered nodes with their sync health."""
    return jsonify({"nodes": served_nodes(runtime().registry.all())})


@bp.post("/nodes")
@allow()
@accepts(AddNode)
def add_node(body):
    """Register a node for a compound and return its one-time enrolment code."""
    rt = runtime()
    check_compound(body["compound_id"])
    old = rt.registry.get(body["id"])
    if old is not None and old["compound_id"]:  # registering again voids its token: only for whoever serves it
        check_compound(old["compound_id"], "id")
    with rt.store.read() as tx:
        if not exists(tx, "compounds", "id = ?", (body["compound_id"],)):
            raise ApiError(400, f"no compound {body['compound_id']}", fields={"compound_id": "unknown compound"})
    code = rt.registry.add(body["id"], body["compound_id"], body["label"])
    return jsonify({"id": body["id"], "code": code}), 201


@bp.post("/nodes/<node_id>/revoke")
@allow()
def revoke_node(node_id):
    """Revoke a node's token: it can no longer push or pull."""
    node = runtime().registry.get(node_id)
    if node is None or not served_nodes([node]):
        raise ApiError(404, f"no node {node_id}")
    if not runtime().registry.revoke(node_id):
        raise ApiError(404, f"no node {node_id}")
    return jsonify({"id": node_id, "revoked": True})
