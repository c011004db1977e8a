"""The hub's reconciliation: per node outage reports, late arrivals, conflicts, violations, acks and merges."""

from flask import Blueprint, current_app, jsonify, render_template, request
from marshmallow import RAISE, Schema, fields, validate

from sync.ids import new_id

from menwei.web.rows import load_conflicts
from menwei.web.auth import actor_name, allow, served_nodes
from menwei.web.errors import ApiError
from menwei.times import iso
from menwei.reconcile.merge import merge_households
from menwei.web.openapi import accepts
from menwei.web.periods import PERIOD_QUERY, period
from menwei.reconcile.outages import captured, late_arrivals, node_conflicts, node_violations, outages
from menwei.gate.queries import place_name
from menwei.runtime import runtime
from menwei.store.queries import current_compound
from menwei.reconcile.violations import KINDS, find_violations

api = Blueprint("reconcile", __name__, url_prefix="/api/v1")
pages = Blueprint("reconcile_pages", __name__, template_folder="templates")


@api.get("/reconcile/violations")
@allow("viewer")
@accepts(query={"kind": {"type": "string", "enum": list(KINDS)},
                "status": {"type": "string", "enum": ["open", "acknowledged"]},
                "compound_id": {"type": "string"}, **PERIOD_QUERY})
def list_violations():
    """Violations in the period no single gate could see, each with its evidence and acknowledgement."""
    kind, status = request.args.get("kind"), request.args.get("status")
    if kind is not None and kind not in KINDS:
        raise ApiError(400, f"kind must be one of {', '.join(KINDS)}", fields={"kind": "unknown kind"})
    if status not in (None, "open", "acknowledged"):
        raise ApiError(400, "status must be open or acknowledged", fields={"status": "open or acknowledged"})
    since, until, _ = period()
    with runtime().store.read() as tx:
        found = find_violations(tx, current_compound(tx, request.args.get("compound_id")), since, until, current_app.config["TIMEZONE"])
    found = [v | {"places": [place_name(g) for g in v["gates"]]} for v in found if (kind is None or v["kind"] == kind)
             and (status is None or (v["ack"] is None) == (status == "open"))]
    return jsonify({"violations": found, "count": len(found), "from": iso(since), "to": iso(until)})


class AckRequest(Schema):
    """Body of POST /api/v1/reconcile/violations/ack."""

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    key = fields.String(required=True, validate=validate.Length(min=1, max=300))
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    compound_id = fields.String(load_default=None, validate=validate.Length(max=64))


@api.post("/reconcile/violations/ack")
@allow()
@accepts(AckRequest)
def ack_violation(body):
    """Acknowledge a violation with a note; the acknowledgement reaches every node of the compound."""
    if not body["note"].strip():
        raise ApiError(400, "say what was done about it", fields={"note": "empty"})
    rt = runtime()
    with rt.store.read() as tx:
        cid = current_compound(tx, body["compound_id"])
        if tx.rows("SELECT 1 FROM violation_acks WHERE compound_id = ? AND kind = ? AND key = ? AND _deleted = ?",
                   (cid, body["kind"], body["key"], False)):
            raise ApiError(409, "this violation is already acknowledged", fields={"key": "already acknowledged"})
    ack = {"compound_id": cid, "kind": body["kind"], "key": body["key"], "note": body["note"].strip(),
           "acked_by": actor_name() or "coordinator", "acked_at": iso(rt.wall())}
    ack_id = new_id()
    rt.replica.write([("violation_acks", ack_id, ack)], create=True)
    return jsonify({"id": ack_id, **ack}), 201


class MergeRequest(Schema):
    """Body of POST /api/v1/households/merge."""

    class Meta:
        unknown = RAISE

    keep = fields.String(required=True, validate=validate.Length(min=1, max=64))
    merge = fields.String(required=True, validate=validate.Length(min=1, max=64))


@api.post("/households/merge")
@allow()
@accepts(MergeRequest)
def merge(body):
    """Merge a duplicate household into the one kept: residents, passes, orders and vehicles move over."""
    return jsonify(merge_households(body["keep"], body["merge"], actor_name()))


@api.get("/reconcile/nodes")
@allow("viewer")
@accepts(query=PERIOD_QUERY)
def node_summaries():
    """For every node: when it was last heard from and its outages, late arrivals and conflicts in the period."""
    since, until, now = period()
    found = {}  # violations per compound, found once for all its nodes
    return jsonify({"nodes": [_report(n, since, until, now, detail=False, found=found)
                              for n in served_nodes(runtime().registry.all())],
                    "from": iso(since), "to": iso(until)})


@api.get("/reconcile/nodes/<node_id>")
@allow("viewer")
@accepts(query=PERIOD_QUERY)
def node_report(node_id):
    """The outage report of one node: offline from … to …, events captured, what arrived late, conflicts, violations."""
    since, until, now = period()
    node = runtime().registry.get(node_id)
    if node is None or not served_nodes([node]):
        raise ApiError(404, f"no node {node_id}")
    return jsonify({**_report(node, since, until, now, detail=True), "from": iso(since), "to": iso(until)})


def _report(node, since, until, now, detail, found=None):
    rt, cfg = runtime(), current_app.config
    found = {} if found is None else found
    gap, late_ms = cfg["OUTAGE_GAP_S"] * 1000, cfg["LATE_AFTER_S"] * 1000
    contacts = rt.registry.contacts(node["id"], since - gap, until)
    with rt.store.read(snapshot=True) as tx:  # one report from one moment (load_conflicts reads twice)
        offline = outages(contacts, since, until, gap, now)
        late = late_arrivals(tx, rt.catalog, node["id"], since, until, late_ms, limit=500 if detail else 0)
        conflicts = node_conflicts(load_conflicts(tx, origin=node["id"]), node["id"], since, until)
        cid = node["compound_id"]
        if cid and cid not in found:
            found[cid] = find_violations(tx, cid, since, until, cfg["TIMEZONE"])
        violations = node_violations(found[cid], node["id"], since, until) if cid else []
        spans = [{"from": iso(a), "to": iso(b) if b else None, "ongoing": b is None,
                  "minutes": round(((b or now) - a) / 60000),
                  "events_captured": captured(tx, node["id"], a, b or now)} for a, b in offline]
    out = {"node_id": node["id"], "label": node["label"], "place": place_name(node["id"]), "compound_id": node["compound_id"],
           "last_seen": iso(node["last_seen_ms"]) if node["last_seen_ms"] else None,
           "outages": spans, "late": {"total": late["total"], "counts": late["counts"]},
           "conflicts_open": sum(1 for c in conflicts if c["status"] == "open"), "conflicts_total": len(conflicts),
           "violations_open": sum(1 for v in violations if v["ack"] is None), "violations_total": len(violations)}
    if detail:
        out.update(late_events=late["events"], conflicts=conflicts, violations=violations)
    return out


@pages.get("/reconcile")
@allow("viewer")
def reconcile_page():
    """The coordinator's reconciliation page: nodes and their outages, conflicts side by side, violations."""
    rt = runtime()
    return render_template("reconcile.html", nodes=served_nodes(rt.registry.all()), kinds=KINDS)
