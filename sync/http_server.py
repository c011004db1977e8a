"""HTTP adapter of the hub's sync role: POST /sync/v1/enroll, POST /sync/v1/push, GET /sync/v1/pull, GET /sync/v1/snapshot.

Thin: it authenticates, decodes and validates, then hands the batch to the shared Replica.
"""
import gzip
import json
import zlib

import orjson

from flask import Blueprint, Response, current_app, request
from marshmallow import ValidationError

from .changelog import SequenceGap
from .clock import ClockSkewError
from .compaction import stale_cursor
from .recovery import SequenceReused, refuse_reused
from .replica import ScopeError, paused_gc
from .snapshot import snapshot_page_json
from .wire import EnrollRequest, PullQuery, SnapshotQuery, push_request_schema

bp = Blueprint("sync", __name__, url_prefix="/sync/v1")
#: Wrong enrolment codes from one address before each further try waits (a growing back-off).
ENROL_MAX_FAILURES = 10


class SyncError(Exception):
    """A refused sync request: HTTP status, message, optional machine-readable code and details."""

    def __init__(self, status, message, code=None, **extra):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra


@bp.errorhandler(SyncError)
def _sync_error(e):
    body = {"error": e.message, "status": e.status}
    if e.code:
        body["code"] = e.code
    body.update(e.extra)
    return Response(json.dumps(body, ensure_ascii=False), e.status, mimetype="application/json")


def _ctx():
    return current_app.extensions["menwei"]


def _node():
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        raise SyncError(401, "missing node token (Authorization: Bearer …)", "no_token")
    node = _ctx().registry.by_token(auth[7:].strip())
    if node is None:
        raise SyncError(401, "unknown node token", "bad_token")
    if node["revoked"]:
        raise SyncError(403, f"the token of node {node['id']} has been revoked", "revoked")
    if not node["compound_id"]:  # no compound would mean no scope limit at all
        raise SyncError(403, f"node {node['id']} is not assigned to a compound", "no_compound")
    return node


def _json_body():
    raw = request.get_data(cache=False)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        try:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = d.decompress(raw, limit + 1)
            if len(raw) > limit or d.unconsumed_tail:
                raise SyncError(413, "request body too large once decompressed", "too_large", fields={"body": "too large"})
        except zlib.error:
            raise SyncError(400, "body is not valid gzip", "bad_gzip", fields={"body": "not gzip"}) from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise SyncError(400, "body is not valid JSON", "bad_json", fields={"body": "not valid JSON"}) from None
    if not isinstance(body, dict):
        raise SyncError(400, "body must be a JSON object", "bad_json", fields={"body": "not an object"})
    return body


def _respond(text):
    data = text.encode()
    resp = Response(data, 200, mimetype="application/json")
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(data) > 1024:
        resp.set_data(gzip.compress(data, compresslevel=1))
        resp.headers["Content-Encoding"] = "gzip"
    return resp


def _check_schema(ctx, node, version, kind, clock_ms, pending):
    if version != ctx.catalog.schema_version:
        msg = (f"schema version {version} does not match the hub's {ctx.catalog.schema_version}: " +
               ("upgrade Menwei on this node" if version < ctx.catalog.schema_version else
                "this node runs a newer Menwei than the hub: upgrade the hub") + " (changes stay queued)")
        ctx.registry.record_contact(node["id"], kind, clock_ms, version, pending, msg)
        raise SyncError(409, msg, "schema_mismatch", hub_schema_version=ctx.catalog.schema_version)


def node_query(ctx, node, schema, what):
    """A node's query string loaded with ``schema`` (400 naming the field), its schema version checked (409)."""
    try:
        q = schema.load(request.args)
    except ValidationError as e:
        first = next(iter(e.messages), "query")
        raise SyncError(400, f"invalid {what}: problem in {first!r}", "invalid", fields=e.messages) from None
    _check_schema(ctx, node, q["schema_version"], "pull", q["clock_ms"], q["pending"])
    return q


@bp.post("/enroll")
def enroll():
    """Exchange a one-time enrolment code for the node's own token."""
    try:
        body = EnrollRequest().load(_json_body())
    except ValidationError as e:
        raise SyncError(400, "invalid enrolment request", "invalid", fields=e.messages) from None
    ctx = _ctx()
    source = "enrol:" + (request.remote_addr or "?")[:45]
    wait = ctx.attempt_wait(source, ENROL_MAX_FAILURES)  # codes cannot be guessed by trying them all
    if wait:
        raise SyncError(429, f"too many wrong enrolment codes from this address; try again in {wait} seconds",
                        "rate_limited", retry_after_s=wait)
    got = ctx.registry.enroll(body["code"], body["node_id"])
    if got is None:
        ctx.attempt_failed(source)
        raise SyncError(403, "invalid, used or expired enrolment code", "bad_code")
    token, node = got
    return _respond(json.dumps({"token": token, "node_id": node["id"], "compound_id": node["compound_id"],
                                "hub_id": ctx.replica.id, "schema_version": ctx.catalog.schema_version}))


@bp.post("/push")
def push():
    """Apply a node's batch atomically; a batch already applied is acknowledged again and changes nothing."""
    with paused_gc():
        return _push()


def _push():
    node = _node()
    ctx = _ctx()
    body = _json_body()
    changes = body.get("changes")
    max_batch = current_app.config["MAX_BATCH"]
    if isinstance(changes, list) and len(changes) > max_batch:
        raise SyncError(413, f"at most {max_batch} changes in one push, got {len(changes)}", "batch_too_large")
    try:
        body = push_request_schema(ctx.catalog, max_batch).load(body)
    except ValidationError as e:
        first = next(iter(e.messages), "body")
        raise SyncError(400, f"invalid push: problem in {first!r}", "invalid", fields=e.messages) from None
    if body["node_id"] != node["id"]:
        raise SyncError(403, f"this token belongs to {node['id']}; it cannot push as {body['node_id']}",
                        "wrong_origin")
    _check_schema(ctx, node, body["schema_version"], "push", body["clock_ms"], body["pending"])
    bound = current_app.config["SKEW_BOUND_S"] * 1000
    skews = []

    seqs = [ch["seq"] for ch in body["changes"]]
    delivered = (min(seqs), max(seqs)) if seqs else None

    def record(tx):
        skews.append(ctx.registry.record_contact(node["id"], "push", body["clock_ms"], body["schema_version"],
                                                 body["pending"], tx=tx, oseqs=delivered))
    try:
        result = ctx.replica.apply_remote(body["changes"], origin=node["id"], contiguous=True,
                                          skew_bound_ms=bound, allowed_scope=node["compound_id"],
                                          before_commit=record, check=refuse_reused(node["id"]),
                                          drop_orphans=True)
    except ClockSkewError as e:
        msg = f"refused: {e}"
        skew = ctx.registry.record_contact(node["id"], "push", body["clock_ms"], body["schema_version"],
                                           body["pending"], msg)
        raise SyncError(409, msg, "clock_skew", skew_ms=skew, bound_ms=bound) from None
    except SequenceGap as e:
        raise SyncError(409, str(e), "sequence_gap", expected_seq=e.expected) from None
    except ScopeError as e:
        raise SyncError(403, str(e), "out_of_scope") from None
    except SequenceReused as e:
        raise SyncError(409, str(e), "sequence_reused", hub_seq=e.hub_seq) from None
    skew = skews[0]
    for r in result.refused:  # a stolen token, or a change written before this rule: the coordinator should know
        current_app.logger.warning("push from %s: refused change %s of %s %s (%s)", node["id"], r["seq"],
                                   r["table"], r["id"], r["code"])
    return _respond(json.dumps({
        "acked_seq": result.seen.get(node["id"], 0), "applied": result.applied,
        "duplicates": result.duplicates, "conflicts": result.conflicts, "dropped_orphans": result.orphans,
        "buried": [list(k) for k in result.buried], "refused": result.refused,
        "hub_clock_ms": ctx.replica.clock.wall(), "skew_ms": skew}))


def _check_not_pruned(ctx, node, cursor):
    pruned = stale_cursor(ctx.store, node["compound_id"], cursor)
    if pruned is not None:
        raise SyncError(410, f"changes after {cursor} up to {pruned} have been compacted away: "
                        "take the compound in again as a snapshot", "rebootstrap", pruned_through=pruned)


@bp.get("/pull")
def pull():
    """Return, in order, the changes in the node's scope after its cursor, its own excepted."""
    node = _node()
    ctx = _ctx()
    q = node_query(ctx, node, PullQuery(), "pull")
    _check_not_pruned(ctx, node, q["cursor"])
    ctx.registry.record_contact(node["id"], "pull", q["clock_ms"], q["schema_version"], q["pending"],
                                cursor=q["cursor"])
    frags, cursor, more = ctx.replica.log_page_json(q["cursor"], node["id"], node["compound_id"], q["limit"])
    _check_not_pruned(ctx, node, q["cursor"])  # again: a compaction may have committed while we read
    return _respond('{"changes":[' + ",".join(frags) + f'],"cursor":{cursor},"more":{json.dumps(more)},'
                    f'"hub_clock_ms":{ctx.replica.clock.wall()},"schema_version":{ctx.catalog.schema_version},'
                    f'"node_seq":{ctx.replica.seen_seq(node["id"])}}}')


@bp.get("/snapshot")
def snapshot():
    """Return one page of the node's compound as it is now; the first page also carries the cursor to pull from."""
    node = _node()
    ctx = _ctx()
    q = node_query(ctx, node, SnapshotQuery(), "snapshot request")
    table, after = q["table"], q["after"]
    if table is not None and table not in ctx.catalog:
        raise SyncError(400, f"unknown table {table[:64]!r}", "invalid", fields={"table": ["unknown table"]})
    if table is None and after is not None:
        raise SyncError(400, "after needs a table", "invalid", fields={"after": ["needs a table"]})
    if table is not None and after is not None and ctx.catalog[table].append_only:
        if not after.isdigit():
            raise SyncError(400, "after must be a log position for this table", "invalid",
                            fields={"after": ["must be a whole number"]})
        after = int(after)
    if table is None:
        ctx.registry.record_contact(node["id"], "pull", q["clock_ms"], q["schema_version"], q["pending"])
    with paused_gc():
        return _respond(snapshot_page_json(ctx.replica, node["compound_id"], table, after, q["limit"]))
