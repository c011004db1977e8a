"""The shopping basket over HTTP: chain import and review, shopping list, buying, packing, money, handoff."""
import datetime as dt
import io

from flask import Blueprint, render_template, request, send_file
from marshmallow import RAISE, Schema, fields, validate

from sync.ids import new_id
from sync.tables import DELETED

from menwei.basket.shopping import ledger, shopping_list
from menwei.basket.chain_parser import current_lines, parse_chain, parse_line, same_line
from menwei.web.errors import SANE_DATE, ApiError
from menwei.gate.queries import only_compound
from menwei.times import iso
from menwei.runtime import runtime
from menwei.web.auth import allow
from menwei.web.openapi import accepts

api = Blueprint("basket_api", __name__, url_prefix="/api/v1/basket")
pages = Blueprint("basket_pages", __name__, template_folder="templates")
ORDER_COLS = ("id", "household_id", "room_text", "name", "delivery_date", "status", "source_line", "pending_line",
              "notes", "flagged", "paid_by", "missing", "bags", "delivered_by", "delivered_at", "refused_reason")
DAY_QUERY = {"date": {"type": "string", "format": "date", "required": True}}
LINE_COLS = ("id", "order_id", "position", "item", "quantity", "unit", "note", "bought_quantity", "price", "missing")


class ChainIn(Schema):
    """Body of the chain preview and import: the pasted text, the building, the delivery day."""

    class Meta:
        unknown = RAISE

    text = fields.String(required=True, validate=validate.Length(1, 50_000))
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
    photo = fields.String(load_default=None, validate=[
        validate.Regexp(r"^data:image/(jpeg|png|webp);base64,[A-Za-z0-9+/=]+$",
                        error="a data:image/jpeg|png|webp;base64 URL"),
        validate.Length(max=3_000_000, error="photo larger than about 2 MB: take it at a lower resolution")])


def _rooms(tx):
    return {r[1]: r[0] for r in tx.rows(f"SELECT id, label FROM households WHERE {DELETED} = ?", (False,))}


def _compound(tx):
    return runtime().compound_id or only_compound(tx, "building", "this hub serves several compounds")


def _lines_of(line):
    return [{"item": i.item, "quantity": i.quantity, "unit": i.unit} for i in line.items]


@api.post("/chains/preview")
@allow("volunteer")
@accepts(ChainIn)
def preview_chain(body):
    """Read a pasted chain into draft orders to review; nothing is written."""
    with runtime().store.read() as tx:
        rooms = _rooms(tx)
        existing = _orders(tx, body["delivery_date"].isoformat())
    by_room = {o["room_text"]: o for o in existing}
    out = []
    for ln in parse_chain(body["text"], body["building"], set(rooms)):
        known = by_room.get(ln.room)
        state = "new" if known is None else ("same" if same_line(known["source_line"], ln.raw) else "changed")
        out.append({"line_no": ln.line_no, "raw": ln.raw, "room": ln.room, "household_id": rooms.get(ln.room),
                    "name": ln.name, "items": _lines_of(ln), "notes": ln.notes, "flags": ln.flags, "state": state})
    return {"lines": out}


@api.post("/chains/import")
@allow("volunteer")
@accepts(ChainIn)
def import_chain(body):
    """Create draft orders from a chain; a re-paste adds only new lines and marks edited ones to confirm."""
    rt = runtime()
    day = body["delivery_date"].isoformat()
    with rt.store.read() as tx:
        rooms, cid = _rooms(tx), _compound(tx)
        existing = {o["room_text"]: o for o in _orders(tx, day)}
    writes, summary = [], {"created": 0, "unchanged": 0, "changed": 0, "flagged": 0}
    for ln in current_lines(parse_chain(body["text"], body["building"], set(rooms))):
        raw = ln.raw.strip()
        key = ln.room or f"line {ln.line_no}: {raw[:20]}"
        old = existing.get(key)
        if old is not None:
            if same_line(old["source_line"], raw) or same_line(old["pending_line"], raw):
                summary["unchanged"] += 1
            else:
                writes.append(("orders", old["id"], {"pending_line": raw}))
                summary["changed"] += 1
            continue
        oid = new_id()
        flagged = bool(ln.flags or ln.notes or rooms.get(ln.room) is None)
        summary["flagged"] += flagged
        order = {"compound_id": cid, "room_text": key, "delivery_date": day, "status": "requested",
                 "source_line": raw, "flagged": flagged, "notes": "；".join(ln.notes + ln.flags) or None,
                 "household_id": rooms.get(ln.room), "name": ln.name}
        writes.append(("orders", oid, {k: v for k, v in order.items() if v is not None}))
        writes += _line_writes(cid, oid, ln)
        summary["created"] += 1
    if writes:
        rt.replica.write(writes)
    return summary, 201


def _line_writes(cid, oid, ln):
    return [("order_lines", new_id(), {k: v for k, v in {
        "compound_id": cid, "order_id": oid, "position": n, "item": i.item, "quantity": i.quantity,
        "unit": i.unit, "note": i.note or None}.items() if v is not None}) for n, i in enumerate(ln.items)]


def _orders(tx, day, status=None):
    where, params = [f"o.{DELETED} = ?", "o.delivery_date = ?"], [False, day]
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


@api.post("/orders/<oid>/confirm-change")
@allow("volunteer")
def confirm_change(oid):
    """Apply the line a resident edited in the chain: the order's lines are replaced by the new reading."""
    rt = runtime()
    with rt.store.read(snapshot=True) as tx:
        order = _order(tx, oid)
        cid = _compound(tx)
    if not order["pending_line"]:
        raise ApiError(409, "this order has no change to confirm")
    if order["status"] != "requested":
        raise ApiError(409, f"the order is already {order['status']}; change it by hand")
    building = (order["room_text"] or "").split("-")[0]
    ln = parse_line(order["pending_line"], building=building or None)
    writes = [("order_lines", line["id"], {DELETED: True}) for line in order["lines"]]
    writes.append(("orders", oid, {"source_line": order["pending_line"], "pending_line": None}))
    writes += _line_writes(cid, oid, ln)
    rt.replica.write(writes)
    return {"id": oid, "lines": _lines_of(ln)}


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
    if order["status"] not in ("requested", "bought", "partly_bought"):
        raise ApiError(409, f"order is {order['status']}")
    writes, missing = [], []
    for b in body["lines"]:
        data = {"missing": b["missing"]}
        if b["bought_quantity"] is not None:
            data["bought_quantity"] = b["bought_quantity"]
        if b["price"] is not None:
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
    """Staff carried the bags to the door of the flat."""
    if not body["by"]:
        raise ApiError(400, "say who delivered it", fields={"by": "missing"})
    return _step(oid, ("packed", "at_building"), {"status": "delivered", "delivered_by": body["by"],
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
        o["total"] = round(sum(ln["price"] or 0 for ln in o["lines"]), 2)
    return {"orders": orders}


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
        cid = _compound(tx)
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
    """The photo of a till receipt, as the image it is."""
    import base64
    with runtime().store.read() as tx:
        rows = tx.rows(f"SELECT photo FROM receipts WHERE id = ? AND {DELETED} = ?", (rid, False))
    if not rows or not rows[0][0]:
        raise ApiError(404, f"no photo for receipt {rid}")
    head, _, data = rows[0][0].partition(",")
    return send_file(io.BytesIO(base64.b64decode(data)), mimetype=head[5:].split(";")[0])


@api.post("/repayments")
@allow("volunteer")
@accepts(MoneyIn)
def add_repayment(body):
    """A household paid a volunteer back."""
    if not body["household_id"]:
        raise ApiError(400, "which household paid", fields={"household_id": "missing"})
    return _money("repayments", body, {"household_id": body["household_id"], "amount": body["amount"],
                                       "paid_at": iso(runtime().wall()), "received_by": body["received_by"]})


def compute_ledger():
    """The ledger from the stored orders, line prices and repayments, with receipts to reconcile."""
    with runtime().store.read() as tx:
        charges = [(h, v, float(p)) for h, v, p in tx.rows(
            f"SELECT o.household_id, o.paid_by, SUM(l.price) FROM orders o JOIN order_lines l ON l.order_id = o.id "
            f"WHERE o.{DELETED} = ? AND l.{DELETED} = ? AND l.price IS NOT NULL AND o.paid_by IS NOT NULL "
            "AND o.status <> 'refused' GROUP BY o.household_id, o.paid_by", (False, False))]
        repaid = [(h, v, float(a)) for h, v, a in tx.rows(
            f"SELECT household_id, volunteer_id, amount FROM repayments WHERE {DELETED} = ?", (False,))]
        receipts = tx.rows(f"SELECT volunteer_id, SUM(total) FROM receipts WHERE {DELETED} = ? GROUP BY volunteer_id",
                           (False,))
        names = dict(tx.rows(f"SELECT id, name FROM volunteers WHERE {DELETED} = ?", (False,)))
        labels = dict(tx.rows(f"SELECT id, label FROM households WHERE {DELETED} = ?", (False,)))
    led = ledger(charges, repaid)
    receipt_totals = {v: float(t) for v, t in receipts}
    return {
        "households": [{"household_id": h, "room": labels.get(h), "owes": round(x, 2)}
                       for h, x in sorted(led["households"].items(), key=lambda kv: labels.get(kv[0]) or "")],
        "volunteers": [{"volunteer_id": v, "name": names.get(v), "advanced": round(d["advanced"], 2),
                        "repaid": round(d["repaid"], 2), "outstanding": round(d["outstanding"], 2),
                        "receipts": round(receipt_totals.get(v, 0.0), 2),
                        "unallocated": round(receipt_totals.get(v, 0.0) - d["advanced"], 2)}
                       for v, d in sorted(led["volunteers"].items(), key=lambda kv: names.get(kv[0]) or "")],
        "total_owed": round(sum(led["households"].values()), 2),
        "total_outstanding": round(sum(d["outstanding"] for d in led["volunteers"].values()), 2)}


@api.get("/ledger")
@allow("volunteer", "viewer")
def ledger_view():
    """What each household owes, what each volunteer advanced and got back; the totals always agree."""
    return compute_ledger()


@pages.get("/basket/ledger.xlsx")
@allow("volunteer", "viewer")
def ledger_xlsx():
    """The ledger as a spreadsheet: households, volunteers."""
    from openpyxl import Workbook
    led = compute_ledger()
    wb = Workbook()
    ws = wb.active
    ws.title = "住户 households"
    ws.append(["房号 room", "应付 owes (元)"])
    for h in led["households"]:
        ws.append([h["room"], h["owes"]])
    ws2 = wb.create_sheet("志愿者 volunteers")
    ws2.append(["志愿者 volunteer", "垫付 advanced", "已还 repaid", "未还 outstanding", "小票 receipts", "未分摊 unallocated"])
    for v in led["volunteers"]:
        ws2.append([v["name"], v["advanced"], v["repaid"], v["outstanding"], v["receipts"], v["unallocated"]])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name="basket-ledger.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@pages.get("/basket")
@allow("volunteer", "viewer")
def basket_page():
    """The shopping basket, one page: paste, review, shopping list, buy, pack, hand off."""
    with runtime().store.read() as tx:
        vols = tx.rows(f"SELECT id, name FROM volunteers WHERE {DELETED} = ? ORDER BY name", (False,))
    return render_template("basket.html", volunteers=vols)
