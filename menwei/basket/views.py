"""The shopping basket over HTTP: chain import and review, shopping list, buying, packing, money, handoff."""
import datetime as dt
import io
import re
import uuid

from flask import Blueprint, render_template, request, send_file
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from sync.ids import new_id
from sync.tables import DELETED, sniff_image

from menwei.basket.shopping import (CANCELLED_REASON, apply_changes, diff_lines, ledger, reply_after, reply_before,
                                    shopping_list)
from menwei.basket.chain_parser import current_lines, parse_chain, parse_line, same_line, title_day
from menwei.gate.labels import room_order
from menwei.gate.queries import door_building
from menwei.web.errors import SANE_DATE, ApiError
from menwei.times import iso
from menwei.runtime import runtime
from menwei.store.queries import current_compound, live_rows, names_of
from menwei.store.spreadsheets import download, write_xlsx
from menwei.tables import CATALOG
from menwei.web.auth import allow, may_call, served_clause, signed_in_name
from menwei.web.openapi import accepts

api = Blueprint("basket_api", __name__, url_prefix="/api/v1/basket")
pages = Blueprint("basket_pages", __name__, template_folder="templates")
ORDER_COLS = ("id", "household_id", "room_text", "name", "delivery_date", "status", "source_line", "pending_line",
              "notes", "flagged", "paid_by", "missing", "bags", "delivered_by", "delivered_at", "refused_reason")
DAY_QUERY = {"date": {"type": "string", "format": "date", "required": True}}
LINE_COLS = ("id", "order_id", "position", "item", "quantity", "unit", "note", "bought_quantity", "price", "missing")


def _lines_fit(text):
    """Each line of a chain must fit in an order's source line (2000 characters)."""
    for n, line in enumerate(text.splitlines(), start=1):
        if len(line.strip()) > 2000:
            raise ValidationError(f"line {n} is longer than 2000 characters / 第{n}行超过2000字")


class ChainIn(Schema):
    """Body of the chain preview and import: the pasted text, the building, the delivery day."""

    class Meta:
        unknown = RAISE

    text = fields.String(required=True, validate=[validate.Length(1, 50_000), _lines_fit])
    building = fields.String(required=True, validate=validate.Regexp(r"^\w{1,10}$", error="a building number"))
    delivery_date = fields.Date(required=True, validate=SANE_DATE)


class BoughtLineIn(Schema):
    """One line as bought: how much, at what price, or missing."""

    class Meta:
        unknown = RAISE

    id = fields.String(required=True)
    bought_quantity = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(0, 10_000))
    price = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(0, 100_000))
    missing = fields.Boolean(load_default=False)


class BoughtIn(Schema):
    """Body of POST /orders/<id>/bought."""

    class Meta:
        unknown = RAISE

    paid_by = fields.String(required=True, validate=validate.Length(1, 64))
    lines = fields.List(fields.Nested(BoughtLineIn), required=True)


class StepIn(Schema):
    """Body of the packing and delivery steps."""

    class Meta:
        unknown = RAISE

    bags = fields.Integer(load_default=None, validate=validate.Range(1, 50))
    by = fields.String(load_default=None, validate=validate.Length(1, 50))
    reason = fields.String(load_default=None, validate=validate.Length(1, 200))


class MoneyIn(Schema):
    """Body of POST /receipts and /repayments."""

    class Meta:
        unknown = RAISE

    volunteer_id = fields.String(required=True, validate=validate.Length(1, 64))
    household_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    delivery_date = fields.Date(load_default=None, validate=SANE_DATE)
    amount = fields.Float(required=True, allow_nan=False, validate=validate.Range(0.01, 1_000_000))
    received_by = fields.String(load_default=None, validate=validate.Length(1, 50))
    notes = fields.String(load_default=None, validate=validate.Length(1, 2000))
    # checked by the receipts table's own declaration (menwei/tables.py), as every other write of it is
    photo = fields.String(load_default=None, validate=[
        validate.Length(max=3_000_000, error="photo larger than about 2 MB: take it at a lower resolution"),
        lambda v: _photo_ok(v)])


def _photo_ok(value):
    problem = CATALOG["receipts"].by_name["photo"].check(value)
    if problem:
        raise ValidationError(problem)
    return True


def _rooms(tx):
    return {label: hid for hid, label in names_of(tx, "households", "label").items()}


def _names(tx):
    """{room label: [residents' names]}: helps the parser tell a one-character surname from an item."""
    out = {}
    for label, name in tx.rows(f"SELECT h.label, r.name FROM residents r JOIN households h ON h.id = r.household_id "
                               f"WHERE r.{DELETED} = ? AND h.{DELETED} = ?", (False, False)):
        out.setdefault(label, []).append(name)
    return out


def _item_row(i):
    """An order line from a parsed item: a budget in yuan is kept as the amount in 元 (what the list shows)."""
    if i.budget is not None:
        return {"item": i.item, "quantity": i.budget, "unit": "元", "note": i.note or None}
    return {"item": i.item, "quantity": i.quantity, "unit": i.unit, "note": i.note or None}


def _lines_of(line):
    return [_item_row(i) for i in line.items]


def _changes_of(line):
    return [{"op": c.op, "item": c.item, "new": _item_row(c.new) if c.new else None} for c in line.changes]


# An order's pending_line holds the chain lines waiting for review, one a line; a repeat whose room came from
# the chain around it (同上, a quote) carries that room after a tab. source_line holds the order's own line,
# then the lines already confirmed or rejected, so that pasting the chain again proposes nothing twice.
def _entries(text):
    return [e for e in (text or "").split("\n") if e.strip()]


def _entry(ln):
    raw = ln.raw.strip().replace("\t", " ")
    return f"{raw}\t{ln.ref}" if ln.kind == "repeat" and ln.ref and ln.ref != "above" else raw


def _entry_line(entry):
    return entry.split("\t", 1)[0]


def _own_line(order):
    return (order["source_line"] or "").split("\n")[0]


def _handled(order):
    return [_entry_line(e) for e in (order["source_line"] or "").split("\n")[1:] if e.strip()]


def _with_handled(source, entry):
    """``source`` with ``entry`` recorded as handled; the oldest handled lines give way if it grows too long."""
    parts = (source or "").split("\n")
    own, done = parts[0], parts[1:] + [_entry_line(entry)]
    while len("\n".join([own] + done)) > 2000 and done:
        done.pop(0)
    return "\n".join([own] + done)


@api.post("/chains/preview")
@allow("volunteer")
@accepts(ChainIn)
def preview_chain(body):
    """Read a pasted chain into draft orders and proposals to review; nothing is written."""
    with runtime().store.read() as tx:
        rooms, names = _rooms(tx), _names(tx)
        existing = _orders(tx, body["delivery_date"].isoformat())
    by_room = {o["room_text"]: o for o in existing}
    out, ignored = [], []
    lines = parse_chain(body["text"], body["building"], set(rooms), names, keep_ignored=True)
    named = title_day(lines, body["delivery_date"])
    for ln in lines:
        if ln.kind in ("header", "chatter"):
            ignored.append({"line_no": ln.line_no, "raw": ln.raw, "kind": ln.kind})
            continue
        known = by_room.get(ln.room)
        if ln.kind == "order":
            state = "new" if known is None else ("same" if same_line(_own_line(known), ln.raw) else "changed")
        elif known is not None and any(same_line(e, ln.raw) for e in _handled(known)):
            state = "done"
        else:
            state = {"correction": "change", "cancel": "cancel", "repeat": "copy"}[ln.kind]
        out.append({"line_no": ln.line_no, "number": ln.number, "raw": ln.raw, "room": ln.room,
                    "household_id": rooms.get(ln.room), "name": ln.name, "kind": ln.kind, "items": _lines_of(ln),
                    "changes": _changes_of(ln), "ref": ln.ref, "notes": ln.notes, "flags": ln.flags,
                    "quoted": ln.quoted, "state": state})
    # the day the chain's title names, when it is not the day chosen: the page asks which one before importing
    return {"lines": out, "ignored": ignored,
            "title_day": named.isoformat() if named and named != body["delivery_date"] else None}


@api.post("/chains/import")
@allow("volunteer")
@accepts(ChainIn)
def import_chain(body):
    """Create draft orders from a chain; corrections, cancellations and repeats become proposals to confirm.

    A re-paste adds only new lines; an edited line and every proposal wait for a volunteer's confirmation.
    """
    rt = runtime()
    day = body["delivery_date"].isoformat()
    with rt.store.read() as tx:
        rooms, cid, names = _rooms(tx), current_compound(tx, field="building"), _names(tx)
        existing = {o["room_text"]: o for o in _orders(tx, day)}
    created, updates, summary = {}, {}, {"created": 0, "unchanged": 0, "changed": 0, "flagged": 0}
    for ln in current_lines(parse_chain(body["text"], body["building"], set(rooms), names)):
        raw = ln.raw.strip()
        key = ln.room or f"line {ln.line_no}: {raw[:20]}"
        old = existing.get(key)
        if old is not None:
            pending = _entries(old["pending_line"])
            seen = pending + ([] if ln.kind == "order" else _handled(old))
            if (ln.kind == "order" and same_line(_own_line(old), raw)) or \
                    any(same_line(_entry_line(e), raw) for e in seen):
                summary["unchanged"] += 1
                continue
            old["pending_line"] = "\n".join(pending + [_entry(ln)])
            if len(old["pending_line"]) > 2000:
                raise ApiError(400, f"房间 {key} 待确认的修改太多，请先确认或不采纳 / too many changes waiting for "
                                    f"room {key}: confirm or reject them first", fields={"text": f"line {ln.line_no}"})
            fields = {"pending_line": old["pending_line"]} | ({} if ln.kind == "order" else {"flagged": True})
            (created[old["id"]][0] if old["id"] in created else updates.setdefault(old["id"], {})).update(fields)
            summary["changed"] += 1
            continue
        if ln.kind == "cancel":
            continue  # nothing ordered for that room on this day: there is nothing to cancel
        oid = new_id()
        proposal = ln.kind != "order"
        flagged = bool(proposal or ln.flags or ln.notes or rooms.get(ln.room) is None)
        summary["flagged"] += flagged
        order = {"compound_id": cid, "room_text": key, "delivery_date": day, "status": "requested",
                 "source_line": None if proposal else raw, "pending_line": _entry(ln) if proposal else None,
                 "flagged": flagged, "notes": "；".join(ln.notes + ln.flags) or None,
                 "household_id": rooms.get(ln.room), "name": ln.name}
        created[oid] = ({k: v for k, v in order.items() if v is not None}, [] if proposal else ln.items)
        existing[key] = {"id": oid, "source_line": order["source_line"], "pending_line": order["pending_line"]}
        summary["created"] += 1
    writes = []
    for oid, (order, items) in created.items():
        writes.append(("orders", oid, order))
        writes += _line_writes(cid, oid, [_item_row(i) for i in items])
    writes += [("orders", oid, data) for oid, data in updates.items()]
    if writes:
        rt.replica.write(writes)
    return summary, 201


def _line_writes(cid, oid, rows, ids=None):
    ids = ids or [new_id() for _ in rows]
    return [("order_lines", ids[n], {k: v for k, v in {
        "compound_id": cid, "order_id": oid, "position": n, "item": r["item"], "quantity": r["quantity"],
        "unit": r["unit"], "note": r.get("note") or None}.items() if v is not None}) for n, r in enumerate(rows)]


def _confirmed_line_ids(oid, entry, old_lines, count):
    """Ids of the lines a confirmation writes, the same wherever it is made from the same order as it stood.

    Two volunteers at two replicas, offline, may confirm the same waiting line: with random ids each would
    add its own copy of the new lines and the order would hold both after the sync. Derived from the order,
    the line confirmed and the lines it replaces, both confirmations write the same rows, which merge.
    """
    base = "\x1f".join([oid, entry, *sorted(ln["id"] for ln in old_lines)])
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, f"menwei:order-line:{base}\x1f{n}")) for n in range(count)]


def _orders(tx, day, status=None):
    served, served_params = served_clause("o.compound_id")  # at the hub: the compounds the caller serves
    where, params = [f"o.{DELETED} = ?" + served, "o.delivery_date = ?"], [False, *served_params, day]
    if status:
        where.append(f"o.status IN ({','.join('?' * len(status))})")
        params += list(status)
    rows = tx.rows(f"SELECT {', '.join('o.' + c for c in ORDER_COLS)}, h.label FROM orders o LEFT JOIN households h "
                   f"ON h.id = o.household_id WHERE {' AND '.join(where)} ORDER BY h.label, o.room_text", params)
    orders = [dict(zip(ORDER_COLS + ("label",), r)) for r in rows]
    if orders:
        ids = [o["id"] for o in orders]
        lines = tx.rows(f"SELECT {', '.join(LINE_COLS)} FROM order_lines WHERE {DELETED} = ? AND order_id IN "
                        f"({','.join('?' * len(ids))}) ORDER BY position", [False, *ids])
        by_order = {}
        for r in lines:
            d = dict(zip(LINE_COLS, r))
            d["missing"] = bool(d["missing"])
            by_order.setdefault(d["order_id"], []).append(d)
        for o in orders:
            o["lines"] = by_order.get(o["id"], [])
            o["flagged"] = bool(o["flagged"])
    return orders


def _order(tx, oid):
    """One order with its lines; ``tx`` should be a snapshot read (its day is read first, then the day's orders)."""
    rows = tx.rows(f"SELECT delivery_date FROM orders WHERE id = ? AND {DELETED} = ?", (oid, False))
    found = [o for o in _orders(tx, rows[0][0]) if o["id"] == oid] if rows else []
    if not found:
        raise ApiError(404, f"no order {oid}")
    return found[0]


def _day():
    day = request.args.get("date")
    try:
        return dt.date.fromisoformat(day).isoformat() if day and len(day) == 10 else _no_day()
    except ValueError:
        return _no_day()


def _no_day():
    raise ApiError(400, "date=YYYY-MM-DD is required", fields={"date": "missing or not a date"})


@api.get("/orders")
@allow("volunteer", "viewer")
@accepts(query=DAY_QUERY)
def list_orders():
    """The day's orders with their lines, by room."""
    with runtime().store.read() as tx:
        return {"orders": _orders(tx, _day())}


class ProposalIn(Schema):
    """Body of confirm-change / reject-change: which waiting line (default: the first)."""

    class Meta:
        unknown = RAISE

    line = fields.String(load_default=None, validate=validate.Length(1, 2000))


def _registry(tx):
    return set(_rooms(tx)), _names(tx)


def _copy_source(ref, by_room, registry, seen=()):
    """The lines a repeat copies: the referenced order's, or what that order is itself waiting to copy."""
    order = by_room.get(ref)
    if order is None or ref in seen:
        return None
    if order["lines"]:
        return [{"item": ln["item"], "quantity": ln["quantity"], "unit": ln["unit"], "note": ln["note"]}
                for ln in order["lines"]]
    for entry in _entries(order["pending_line"]):
        p = _proposal(order, entry, by_room, registry, seen + (ref,))
        if p["kind"] == "copy" and p["lines"] is not None:
            return p["lines"]
    return None


def _proposal(order, entry, by_room, registry, seen=()):
    """What a waiting chain line would do to the order: its kind, the item-by-item steps, the resulting lines."""
    raw, _, ref = entry.partition("\t")
    building = (order["room_text"] or "").split("-")[0]
    rooms, names = registry
    ln = parse_line(raw, building=building if building.isdigit() else None, rooms=rooms, names=names)
    current = [{"item": x["item"], "quantity": x["quantity"], "unit": x["unit"], "note": x["note"]}
               for x in order["lines"]]
    out = {"order_id": order["id"], "room": order["label"] or order["room_text"], "name": order["name"] or ln.name,
           "status": order["status"], "line": raw, "entry": entry, "number": ln.number, "notes": ln.notes,
           "ref": None, "problem": None}
    changes = [(c.op, c.item, _item_row(c.new) if c.new else None) for c in ln.changes]
    if ln.kind == "order":
        new = [_item_row(i) for i in ln.items]
        return out | {"kind": "edit", "steps": diff_lines(current, new), "lines": new}
    if ln.kind == "correction":
        new, steps = apply_changes(current, changes)
        return out | {"kind": "change", "steps": steps, "lines": new,
                      "problem": "、".join(s["item"] for s in steps if not s["found"]) or None}
    if ln.kind == "cancel":
        return out | {"kind": "cancel", "steps": diff_lines(current, []), "lines": []}
    out["ref"] = ref or ln.ref
    source = _copy_source(out["ref"], by_room, registry, seen + (order["room_text"],))
    if source is None:
        return out | {"kind": "copy", "steps": [], "lines": None,
                      "problem": f"{out['ref']} 今天没有订单 / no order of {out['ref']} on this day"}
    new, _ = apply_changes(source, changes)
    return out | {"kind": "copy", "steps": diff_lines(current, new), "lines": new}


def _proposals_of_day(tx, day):
    orders = _orders(tx, day)
    by_room = {o["room_text"]: o for o in orders}
    registry = _registry(tx)
    return [_proposal(o, e, by_room, registry) for o in orders for e in _entries(o["pending_line"])]


@api.get("/proposals")
@allow("volunteer", "viewer")
@accepts(query=DAY_QUERY)
def list_proposals():
    """The day's chain lines waiting for review: changes item by item, cancellations, copies of another order."""
    with runtime().store.read(snapshot=True) as tx:
        return {"proposals": _proposals_of_day(tx, _day())}


def _waiting(oid, body):
    """(order, the waiting entry chosen, its proposal, compound) — 404/409 when there is none to act on."""
    with runtime().store.read(snapshot=True) as tx:
        order = _order(tx, oid)
        cid = current_compound(tx, field="building")
        entries = _entries(order["pending_line"])
        if not entries:
            raise ApiError(409, "this order has no change to confirm")
        wanted = body["line"]
        entry = entries[0] if wanted is None else next(
            (e for e in entries if e == wanted or _entry_line(e) == wanted), None)
        if entry is None:
            raise ApiError(409, "that line is no longer waiting (someone already confirmed or rejected it)",
                           fields={"line": "not waiting"})
        orders = _orders(tx, order["delivery_date"])
        proposal = _proposal(order, entry, {o["room_text"]: o for o in orders}, _registry(tx))
    return order, entry, proposal, cid


@api.post("/orders/<oid>/confirm-change")
@allow("volunteer")
@accepts(ProposalIn)
def confirm_change(oid, body):
    """Apply one waiting chain line: an edited line, a correction, a cancellation or a copy of another order."""
    order, entry, p, cid = _waiting(oid, body)
    if order["status"] != "requested":
        raise ApiError(409, f"the order is already {order['status']}; change it by hand")
    if p["lines"] is None:
        raise ApiError(409, p["problem"])
    rest = [e for e in _entries(order["pending_line"]) if e != entry]
    data = {"pending_line": "\n".join(rest) or None}
    if p["kind"] == "edit":
        data["source_line"] = "\n".join([p["line"]] + (order["source_line"] or "").split("\n")[1:])
    else:
        data["source_line"] = _with_handled(order["source_line"], entry)
    if p["kind"] == "cancel":
        data |= {"status": "refused", "refused_reason": CANCELLED_REASON}
        writes = []
    else:
        writes = [("order_lines", line["id"], {DELETED: True}) for line in order["lines"]]
        writes += _line_writes(cid, oid, p["lines"], _confirmed_line_ids(oid, entry, order["lines"], len(p["lines"])))
    writes.append(("orders", oid, data))
    runtime().replica.write(writes)
    return {"id": oid, "kind": p["kind"], "status": data.get("status", order["status"]), "lines": p["lines"]}


@api.post("/orders/<oid>/reject-change")
@allow("volunteer")
@accepts(ProposalIn)
def reject_change(oid, body):
    """Set a waiting chain line aside: the order stays as it is; an order that was only that proposal goes."""
    order, entry, p, _cid = _waiting(oid, body)
    rest = [e for e in _entries(order["pending_line"]) if e != entry]
    data = {"pending_line": "\n".join(rest) or None, "source_line": _with_handled(order["source_line"], entry)}
    removed = not rest and not order["lines"] and not _own_line(order)
    if removed:
        data[DELETED] = True  # it existed only to carry this proposal (a copy, a correction of nothing)
    runtime().replica.write([("orders", oid, data)])
    return {"id": oid, "kind": p["kind"], "removed": removed}


@api.get("/shopping-list")
@allow("volunteer", "viewer")
@accepts(query=DAY_QUERY)
def shopping_list_view():
    """The day's requested orders merged by item and grouped by supermarket section."""
    with runtime().store.read() as tx:
        orders = _orders(tx, _day(), ("requested",))
    lines = [{"item": ln["item"], "quantity": ln["quantity"], "unit": ln["unit"], "household": o["label"]}
             for o in orders for ln in o["lines"]]
    return {"sections": shopping_list(lines), "orders": len(orders)}


def _step(oid, allowed_from, data):
    rt = runtime()
    with rt.store.read(snapshot=True) as tx:
        order = _order(tx, oid)
    if order["status"] not in allowed_from:
        raise ApiError(409, f"order is {order['status']}; expected {' or '.join(allowed_from)}")
    rt.replica.update("orders", oid, data)
    return {"id": oid, **data}


@api.post("/orders/<oid>/bought")
@allow("volunteer")
@accepts(BoughtIn)
def mark_bought(oid, body):
    """Record what was bought for an order, at what price, by whom paid; missing lines make it partly bought."""
    rt = runtime()
    with rt.store.read(snapshot=True) as tx:
        order = _order(tx, oid)
        known = {ln["id"]: ln for ln in order["lines"]}
        unknown = [b["id"] for b in body["lines"] if b["id"] not in known]
        if unknown:
            raise ApiError(400, "lines not in this order", fields={"lines": unknown})
        _payer(tx, body["paid_by"])
    if order["status"] not in ("requested", "bought", "partly_bought"):
        raise ApiError(409, f"order is {order['status']}")
    writes, missing = [], []
    for b in body["lines"]:
        data = {"missing": b["missing"]}
        if b["bought_quantity"] is not None:
            data["bought_quantity"] = b["bought_quantity"]
        if b["missing"]:
            data["price"] = None  # a price typed before ticking "missing" is not charged
        elif b["price"] is not None:
            data["price"] = b["price"]
        writes.append(("order_lines", b["id"], data))
        if b["missing"]:
            missing.append(known[b["id"]]["item"])
    status = "partly_bought" if missing else "bought"
    writes.append(("orders", oid, {"status": status, "paid_by": body["paid_by"],
                                   "missing": "、".join(missing) or None}))
    rt.replica.write(writes, create=False)
    return {"id": oid, "status": status, "missing": missing}


@api.post("/orders/<oid>/packed")
@allow("volunteer")
@accepts(StepIn)
def mark_packed(oid, body):
    """The household's bag(s) are packed and checked against the order."""
    return _step(oid, ("bought", "partly_bought"), {"status": "packed", "bags": body["bags"] or 1})


@api.post("/orders/<oid>/at-building")
@allow("volunteer")
def mark_at_building(oid):
    """The bags are at the building door."""
    return _step(oid, ("packed",), {"status": "at_building"})


@api.post("/orders/<oid>/delivered")
@allow("volunteer")
@accepts(StepIn)
def mark_delivered(oid, body):
    """Staff carried the bags to the door of the flat; who did it is named (the page offers the signed-in volunteer)."""
    by = (body["by"] or "").strip()
    if not by:
        raise ApiError(400, "请填写送达人 say who delivered it", fields={"by": "missing"})
    return _step(oid, ("packed", "at_building"), {"status": "delivered", "delivered_by": by,
                                                   "delivered_at": iso(runtime().wall())})


@api.post("/orders/<oid>/refused")
@allow("volunteer")
@accepts(StepIn)
def mark_refused(oid, body):
    """The household refused the order (or it could not be delivered), with the reason."""
    if not body["reason"]:
        raise ApiError(400, "say why", fields={"reason": "missing"})
    return _step(oid, ("requested", "bought", "partly_bought", "packed", "at_building"),
                 {"status": "refused", "refused_reason": body["reason"]})


@api.get("/packing")
@allow("volunteer", "viewer")
@accepts(query=DAY_QUERY)
def packing():
    """Per household: the lines, what was bought and at what price, and the label to print."""
    with runtime().store.read() as tx:
        orders = _orders(tx, _day(), ("bought", "partly_bought", "packed", "at_building"))
    for o in orders:
        o["total"] = round(sum(ln["price"] or 0 for ln in o["lines"] if not ln.get("missing")), 2)
    return {"orders": orders}


@pages.get("/basket/labels")
@allow("volunteer", "viewer")
@accepts(query=DAY_QUERY)
def labels_sheet():
    """A printable sheet of bag labels for a day: room, name, bags, what is in them and what was missing."""
    day = _day()
    with runtime().store.read() as tx:
        orders = _orders(tx, day, ("bought", "partly_bought", "packed", "at_building"))
    return render_template("basket_labels.html", day=day, orders=orders)


@api.get("/handoff")
@allow("volunteer", "viewer")
@accepts(query=DAY_QUERY)
def handoff():
    """Bags at (or on their way to) the building door, by room; delivered ones drop off the list."""
    with runtime().store.read() as tx:
        return {"orders": _orders(tx, _day(), ("packed", "at_building"))}


def _money(table, body, extra):
    rt = runtime()
    with rt.store.read() as tx:
        cid = current_compound(tx, field="building")
    rid = new_id()
    data = {"compound_id": cid, "volunteer_id": body["volunteer_id"], **extra}
    rt.replica.write([(table, rid, {k: v for k, v in data.items() if v is not None})], create=True)
    data.pop("photo", None)
    return {"id": rid, **data}, 201


@api.post("/receipts")
@allow("volunteer")
@accepts(MoneyIn)
def add_receipt(body):
    """A volunteer records a till receipt they paid for a shopping day."""
    if not body["delivery_date"]:
        raise ApiError(400, "which shopping day", fields={"delivery_date": "missing"})
    return _money("receipts", body, {"delivery_date": body["delivery_date"].isoformat(), "total": body["amount"],
                                     "notes": body["notes"], "photo": body["photo"]})


@api.get("/receipts/<rid>/photo")
@allow("volunteer", "viewer")
def receipt_photo(rid):
    """The photo of a till receipt, as the image its bytes say it is (of a compound the caller serves)."""
    import base64
    served, params = served_clause("compound_id")
    with runtime().store.read() as tx:
        rows = tx.rows(f"SELECT photo FROM receipts WHERE id = ? AND {DELETED} = ?{served}", (rid, False, *params))
    if not rows or not rows[0][0]:
        raise ApiError(404, f"no photo for receipt {rid}")
    try:  # stored before photos were checked by their bytes, it may be anything: serve only an image
        raw = base64.b64decode(rows[0][0].partition(",")[2], validate=True)
    except ValueError:
        raw = b""
    kind = sniff_image(raw)
    if kind is None:
        raise ApiError(404, f"the photo of receipt {rid} is not an image")
    resp = send_file(io.BytesIO(raw), mimetype=kind)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


class VolunteerIn(Schema):
    """Body of POST /api/v1/basket/volunteers: someone of the basket team who may pay at the till."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(1, 50))


ACTIVE = "(inactive IS NULL OR inactive = ?)"  # a volunteer not deactivated: offered as payer and deliverer


@api.get("/volunteers")
@allow("volunteer", "viewer")
@accepts(query={"all": {"type": "boolean", "description": "the deactivated too (to reactivate them)"}})
def list_volunteers():
    """The volunteers who may pay at the till, by name; ``all=1`` adds those deactivated, marked inactive."""
    every = request.args.get("all") in ("1", "true")
    served, params = served_clause("compound_id")
    where = ("1 = 1" if every else ACTIVE) + served
    with runtime().store.read() as tx:
        rows = live_rows(tx, "volunteers", ("id", "name", "inactive"), where,
                         (*(() if every else (False,)), *params), order="name")
    return {"volunteers": [{"id": v["id"], "name": v["name"], "inactive": bool(v["inactive"])} for v in rows]}


class ActiveIn(Schema):
    """Body of POST /api/v1/basket/volunteers/<id>/active."""

    class Meta:
        unknown = RAISE

    active = fields.Boolean(required=True)


@api.post("/volunteers/<vid>/active")
@allow("volunteer")
@accepts(ActiveIn)
def set_volunteer_active(vid, body):
    """Deactivate a basket volunteer (no longer offered to pay or deliver; what names them keeps the name) or
    reactivate them."""
    rt = runtime()
    served, params = served_clause("compound_id")
    with rt.store.read() as tx:
        found = live_rows(tx, "volunteers", ("id", "name"), "id = ?" + served, (vid, *params))
    if not found:
        raise ApiError(404, f"没有这位志愿者 no volunteer {vid}")
    rt.replica.update("volunteers", vid, {"inactive": not body["active"]})
    return {"id": vid, "name": found[0]["name"], "inactive": not body["active"]}


def _payer(tx, vid):
    """Refuse (400 naming paid_by) a payer who is not an active volunteer of the caller's compounds."""
    served, params = served_clause("compound_id")
    rows = live_rows(tx, "volunteers", ("inactive",), "id = ?" + served, (vid, *params))
    if not rows:
        raise ApiError(400, "付款人不是志愿者 who paid is not a volunteer", fields={"paid_by": "not a volunteer"})
    if rows[0]["inactive"]:
        raise ApiError(400, "这位志愿者已停用 this volunteer was deactivated", fields={"paid_by": "deactivated"})


@api.post("/volunteers")
@allow("volunteer")
@accepts(VolunteerIn)
def add_volunteer(body):
    """Add a volunteer of the basket team (who pays at the till and is paid back); a name already there is refused."""
    rt = runtime()
    name = body["name"].strip()
    if not name:
        raise ApiError(400, "请填写姓名 a name is needed", fields={"name": "empty"})
    with rt.store.read() as tx:
        cid = current_compound(tx, field="building")
        if tx.rows(f"SELECT 1 FROM volunteers WHERE name = ? AND compound_id = ? AND {DELETED} = ?", (name, cid, False)):
            raise ApiError(409, f"{name} 已在名单上 is already on the list", fields={"name": "already there"})
    vid = new_id()
    rt.replica.write([("volunteers", vid, {"compound_id": cid, "name": name, "organisation": "菜篮子小组 basket team"})],
                     create=True)
    return {"id": vid, "name": name}, 201


@api.post("/repayments")
@allow("volunteer")
@accepts(MoneyIn)
def add_repayment(body):
    """A household paid a volunteer back."""
    if not body["household_id"]:
        raise ApiError(400, "which household paid", fields={"household_id": "missing"})
    return _money("repayments", body, {"household_id": body["household_id"], "amount": body["amount"],
                                       "paid_at": iso(runtime().wall()), "received_by": body["received_by"]})


def _charges_and_repaid(tx):
    served, params = served_clause("o.compound_id")  # at the hub: the compounds the caller serves
    # an order for a room not in the register is owed by its room as typed (UNREGISTERED + room), never lumped in
    # with the other unregistered rooms' orders
    charges = [(h or UNREGISTERED + (room or "?"), v, float(p)) for h, room, v, p in tx.rows(
        f"SELECT o.household_id, CASE WHEN o.household_id IS NULL THEN o.room_text END, o.paid_by, SUM(l.price) "
        f"FROM orders o JOIN order_lines l ON l.order_id = o.id "
        f"WHERE o.{DELETED} = ? AND l.{DELETED} = ? AND l.price IS NOT NULL AND o.paid_by IS NOT NULL "
        "AND (l.missing IS NULL OR l.missing = ?) "  # what the shop did not have is never charged
        f"AND o.status <> 'refused'{served} GROUP BY o.household_id, "
        "CASE WHEN o.household_id IS NULL THEN o.room_text END, o.paid_by", (False, False, False, *params))]
    repaid = [(h, v, float(a)) for h, v, a in tx.rows(
        f"SELECT household_id, volunteer_id, amount FROM repayments WHERE {DELETED} = ?"
        f"{served.replace('o.compound_id', 'compound_id')}", (False, *params))]
    return charges, repaid


#: The ledger's key for what an unregistered room owes: this prefix and the room as the chain wrote it.
UNREGISTERED = "room:"


def _payer_row(key, labels):
    """(household_id, room) of a ledger key: a registered household, or an unregistered room (no id)."""
    if key and key.startswith(UNREGISTERED):
        return None, key[len(UNREGISTERED):]
    return key, labels.get(key)


def compute_ledger():
    """The ledger from the stored orders, line prices and repayments, with receipts to reconcile."""
    served, params = served_clause("o.compound_id")  # at the hub: the compounds the caller serves
    served_plain = served.replace("o.compound_id", "compound_id")
    with runtime().store.read() as tx:
        charges, repaid = _charges_and_repaid(tx)
        receipts = tx.rows(f"SELECT volunteer_id, SUM(total) FROM receipts WHERE {DELETED} = ?{served_plain} "
                           "GROUP BY volunteer_id", (False, *params))
        names, labels = names_of(tx, "volunteers", "name"), names_of(tx, "households", "label")
    led = ledger(charges, repaid)
    receipt_totals = {v: float(t) for v, t in receipts}
    return {
        "households": [dict(zip(("household_id", "room"), _payer_row(h, labels)), owes=round(x, 2))
                       for h, x in sorted(led["households"].items(), key=lambda kv: room_order(_payer_row(kv[0], labels)[1] or ""))],
        "volunteers": [{"volunteer_id": v, "name": names.get(v), "advanced": round(d["advanced"], 2),
                        "repaid": round(d["repaid"], 2), "outstanding": round(d["outstanding"], 2),
                        "receipts": round(receipt_totals.get(v, 0.0), 2),
                        "unallocated": round(receipt_totals.get(v, 0.0) - d["advanced"], 2)}
                       for v, d in sorted(led["volunteers"].items(), key=lambda kv: names.get(kv[0]) or "")],
        "pairs": [dict(zip(("household_id", "room"), _payer_row(h, labels)), volunteer_id=v, name=names.get(v),
                       owes=round(x, 2))
                  for (h, v), x in sorted(led["pairs"].items(), key=lambda kv: (
                      room_order(_payer_row(kv[0][0], labels)[1] or ""), names.get(kv[0][1]) or ""))
                  if round(x, 2) != 0],  # who owes whom: what a repayment settles
        "total_owed": round(sum(led["households"].values()), 2),
        "total_outstanding": round(sum(d["outstanding"] for d in led["volunteers"].values()), 2)}


REPLY_QUERY = DAY_QUERY | {
    "stage": {"type": "string", "enum": ["before", "after"], "required": True,
              "description": "before shopping: the orders as understood; after: bought, missing, owed"},
    "building": {"type": "string", "description": "the building named in the message's title"}}


@api.get("/reply")
@allow("volunteer", "viewer")
@accepts(query=REPLY_QUERY)
def reply_to_group():
    """The message to paste back into the group chat, per household: before or after shopping."""
    day, stage = _day(), request.args.get("stage")
    if stage not in ("before", "after"):
        raise ApiError(400, "stage=before or stage=after is required", fields={"stage": "before or after"})
    building = request.args.get("building") or None
    if building is not None and not re.fullmatch(r"\w{1,10}", building):
        raise ApiError(400, "a building number", fields={"building": "a building number"})
    with runtime().store.read(snapshot=True) as tx:
        orders = _orders(tx, day)
        if stage == "after":
            charges, repaid = _charges_and_repaid(tx)
            names = names_of(tx, "volunteers", "name")
    if stage == "before":
        text, rows = reply_before(day, orders, building)
    else:
        text, rows = reply_after(day, orders, ledger(charges, repaid)["pairs"], names, building)
    return {"stage": stage, "date": day, "text": text, "households": [{"room": r, "line": t} for r, t in rows]}


@api.get("/ledger")
@allow("volunteer", "viewer")
def ledger_view():
    """What each household owes, what each volunteer advanced and got back; the totals always agree."""
    return compute_ledger()


@pages.get("/basket/ledger.xlsx")
@allow("volunteer", "viewer")
def ledger_xlsx():
    """The ledger as a spreadsheet: households, volunteers (a name typed as =… stays text)."""
    led = compute_ledger()
    buf = io.BytesIO()
    write_xlsx([
        ("住户 households", ["房号 room", "应付 owes (元)"], ([h["room"], h["owes"]] for h in led["households"])),
        ("志愿者 volunteers", ["志愿者 volunteer", "垫付 advanced", "已还 repaid", "未还 outstanding", "小票 receipts",
                            "未分摊 unallocated"],
         ([v["name"], v["advanced"], v["repaid"], v["outstanding"], v["receipts"], v["unallocated"]]
          for v in led["volunteers"]))], buf)
    buf.seek(0)
    return download(buf, "basket-ledger.xlsx")


@pages.get("/basket")
@allow("volunteer", "viewer")
def basket_page():
    """The shopping basket, one page: paste, review, shopping list, buy, pack, hand off, money, reply."""
    rt, me = runtime(), signed_in_name() or ""
    with rt.store.read() as tx:
        # the building whose door this node serves is the chain's building; elsewhere (the east gate, the hub) one is chosen
        door = door_building(tx, rt.replica.id) if rt.role == "node" and rt.enrolled else None
        buildings = sorted(set(names_of(tx, "buildings", "number").values()), key=room_order)
        # who pays at the till is the signed-in volunteer when they are on the basket team (by name)
        payer = next((v["id"] for v in live_rows(tx, "volunteers", ("id",), "name = ?", (me,))), "") if me else ""
    # editing controls only for those the write routes accept (a viewer reads): the import's rule stands for all
    return render_template("basket.html", me=me, edit=may_call(import_chain), door=door, buildings=buildings,
                           payer=payer)
