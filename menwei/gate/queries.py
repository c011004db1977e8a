"""The queries the gate's rules need, shared by the gate check, the desk, the hub's violation finder and the
pages that must know which compound they serve."""
from flask import g, has_request_context

from sync.tables import DELETED

from menwei.gate.rules import COUNTED_OUTING_SQL, RULE_FIELDS, rules_in_force
from menwei.runtime import runtime
from menwei.store.queries import live_rows
from menwei.times import iso, parse

#: What a pass's QR code holds before the pass code: ``MENWEI:K7QM2XPA``.
QR_PREFIX = "MENWEI:"


def operator_on_duty(tx, node_id):
    """The name of the volunteer checked in (and not out) at the post this node serves, if any."""
    rows = tx.rows(f"SELECT v.name FROM shifts s JOIN posts p ON p.id = s.post_id JOIN volunteers v "
                   f"ON v.id = s.volunteer_id WHERE p.node_id = ? AND s.checked_in_at IS NOT NULL AND "
                   f"s.checked_out_at IS NULL AND s.{DELETED} = ? AND p.{DELETED} = ? "
                   "ORDER BY s.checked_in_at DESC LIMIT 1", (node_id, False, False))
    return rows[0][0] if rows else None


def place_names(tx):
    """{node id: the name of its place}: the post each node serves (posts replicate, so every gate knows its
    neighbours' names), over which the hub's registry label wins where the hub has one."""
    names = dict(tx.rows(f"SELECT node_id, name FROM posts WHERE node_id IS NOT NULL AND {DELETED} = ? "
                         "ORDER BY name DESC", (False,)))  # a node serving two posts: the first by name
    registry = runtime().registry
    if registry is not None:
        names.update({n["id"]: n["label"] for n in registry.all() if n.get("label")})
    return names


def place_name(node_id):
    """A gate's name in words (东门 East gate) for the node id its events carry; the id itself when nobody named
    it. Every page and message showing a gate says it through this (once per request)."""
    if not node_id:
        return node_id
    if not has_request_context():
        with runtime().store.read() as tx:
            return place_names(tx).get(node_id, node_id)
    if "place_names" not in g:
        with runtime().store.read() as tx:
            g.place_names = place_names(tx)
    return g.place_names.get(node_id, node_id)


def door_building(tx, node_id):
    """The building number of the building door this node's post serves (posts.building_id), or None: a
    gate of the whole compound, or a node serving no post."""
    rows = tx.rows(f"SELECT b.number FROM posts p JOIN buildings b ON b.id = p.building_id WHERE p.node_id = ? "
                   f"AND p.kind = 'building_door' AND p.{DELETED} = ? AND b.{DELETED} = ? ORDER BY p.name LIMIT 1",
                   (node_id, False, False))
    return rows[0][0] if rows else None


def rule_rows(tx, compound_id):
    """Every control rule row of a compound (each states only the fields it changes)."""
    cols = ("id", "building_id", "effective_from", "notes") + RULE_FIELDS
    rows = live_rows(tx, "control_rules", cols, "compound_id = ?", (compound_id,))
    for r in rows:
        if r["work_pass_needs_certificate"] is not None:
            r["work_pass_needs_certificate"] = bool(r["work_pass_needs_certificate"])
    return rows


def load_rules(tx, compound_id, building_id, at):
    """The control rules in force at ``at`` for a building (or the whole compound)."""
    return rules_in_force(rule_rows(tx, compound_id), building_id, at)


def household_outings(tx, household_id, at, days):
    """Times of the household's counted outings in the ``days`` before ``at``, oldest first.

    Outings recorded under a duplicate household merged into this one count too.
    """
    since = iso(parse(at).timestamp() * 1000 - days * 86_400_000)
    ids = [household_id] + [r[0] for r in tx.rows("SELECT id FROM households WHERE merged_into = ?",
                                                   (household_id,))]
    marks = ", ".join("?" * len(ids))
    return [r[0] for r in tx.rows(
        f"SELECT at FROM gate_events WHERE household_id IN ({marks}) AND at > ? AND {COUNTED_OUTING_SQL} "
        "ORDER BY at", (*ids, since))]
