"""Export of any replicated table as .csv or .xlsx, for coordinators only (personal data included, unmasked).

Rows are read in pages by key and written as they come, so a million gate events stream out in flat
memory. No row value is ever logged. CSV cells that a spreadsheet would run as formulas are defused.
"""
import csv
import io
import tempfile

import orjson
from flask import Blueprint, Response, render_template, request, stream_with_context

from sync.sql_bulk import unindexed
from sync.tables import DELETED

from menwei.web.auth import allow, served_compounds
from menwei.web.rows import served_where
from menwei.web.errors import ApiError
from menwei.times import iso
from menwei.web.periods import bounds
from menwei.runtime import runtime
from menwei.store.queries import live_tuples
from menwei.store.spreadsheets import attachment, csv_safe, download, write_xlsx

api = Blueprint("exports_api", __name__, url_prefix="/api/v1")
pages = Blueprint("exports", __name__, template_folder="templates")
PAGE = 5000
XLSX_MAX_ROWS = 1_048_575  # a sheet's 1,048,576 rows, less the header
#: The time each table's ``from``/``to`` filter applies to.
TIME_FIELDS = {"gate_events": "at", "incidents": "opened_at", "handovers": "written_at", "repayments": "paid_at",
               "shifts": "starts_at", "orders": "delivery_date", "receipts": "delivery_date",
               "violation_acks": "acked_at", "control_rules": "effective_from"}
NEVER_EXPORTED = {"password_hash"}
PRESENCE_ONLY = {"photo"}  # megabytes of image: the export says whether there is one


def _export_query(name):
    """(table, columns, WHERE clauses, parameters) for the request's filters: compound_id, from, to."""
    unknown = sorted(set(request.args) - {"compound_id", "from", "to"})
    if unknown:
        raise ApiError(400, f"unknown parameter {unknown[0]!r}", fields={unknown[0]: "unknown parameter"})
    catalog = runtime().catalog
    if name not in catalog:
        raise ApiError(404, f"no table {name!r}")
    table = catalog[name]
    cols = ["id"] + [f for f in table.field_names if f not in NEVER_EXPORTED]
    where, args = ([] if table.append_only else [f"{DELETED} = ?"]), ([] if table.append_only else [False])
    cid = request.args.get("compound_id")
    if cid:
        if table.scope is None:
            raise ApiError(400, f"{name} is shared by every compound", fields={"compound_id": "not for this table"})
        where.append(f"{unindexed(runtime().store, table.scope)} = ?")  # pages walk their key
        args.append(cid)
    served, served_args = served_where(table)  # an account at the hub exports the compounds it serves
    where += served
    args += served_args
    since, until = bounds()
    if since is not None or until is not None:
        field = TIME_FIELDS.get(name)
        if field is None:
            bad = "from" if since is not None else "to"
            raise ApiError(400, f"{name} has no time to filter on", fields={bad: "not for this table"})
        for bound, op in ((since, ">="), (until, "<=")):
            if bound is not None:
                where.append(f"{field} {op} ?")
                # Dates compare as days, times as the stored ISO text (one format everywhere).
                args.append(iso(bound)[:10] if table.by_name[field].type == "date" else iso(bound))
    return table, cols, where, args


def _rows(table, cols, where, args):
    """Yield the rows as lists, one page at a time in key order, each page in its own read."""
    key = "_seq" if table.append_only else "id"
    json_cols = {i for i, c in enumerate(cols) if c in table.by_name and table.by_name[c].type == "json"}
    bool_cols = {i for i, c in enumerate(cols) if c in table.by_name and table.by_name[c].type == "bool"}
    presence = {i for i, c in enumerate(cols) if c in PRESENCE_ONLY}
    sel = ", ".join(f"{c} IS NOT NULL" if i in presence else c for i, c in enumerate(cols))
    after = None
    store = runtime().store
    while True:
        clauses, params = list(where), list(args)
        if after is not None:
            clauses.append(f"{key} > ?")
            params.append(after)
        sql = f"SELECT {key}, {sel} FROM {table.name}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        with store.read() as tx:
            page = tx.rows(sql + f" ORDER BY {key} LIMIT ?", [*params, PAGE])
        for r in page:
            row = list(r[1:])
            for i in json_cols:
                if row[i] is not None:
                    row[i] = row[i] if isinstance(row[i], str) else orjson.dumps(row[i]).decode()
            for i in bool_cols | presence:
                if row[i] is not None:
                    row[i] = bool(row[i])
            yield row
        if len(page) < PAGE:
            return
        after = page[-1][0]


def _filename(name, ext):
    cid = request.args.get("compound_id")
    parts = [name] + ([cid[:8]] if cid else []) + [request.args[k] for k in ("from", "to") if request.args.get(k)]
    return "menwei-" + "-".join(p.replace(":", "") for p in parts) + "." + ext


@api.get("/export/<name>.csv")
@allow()
def export_csv(name):
    """A table as UTF-8 CSV (with BOM, so Excel reads Chinese), streamed: ?compound_id=&from=&to=."""
    table, cols, where, args = _export_query(name)

    def generate():
        buf = io.StringIO()
        out = csv.writer(buf)
        buf.write("\ufeff")
        out.writerow(cols)
        for n, row in enumerate(_rows(table, cols, where, args), start=1):
            out.writerow([csv_safe(v) for v in row])
            if n % 1000 == 0:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
    return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": attachment(_filename(name, "csv")), "Cache-Control": "no-store"})


@api.get("/export/<name>.xlsx")
@allow()
def export_xlsx(name):
    """A table as an .xlsx workbook (at most 1,048,575 rows: narrow the period or use .csv): ?compound_id=&from=&to=."""
    table, cols, where, args = _export_query(name)
    with runtime().store.read() as tx:
        sql = f"SELECT COUNT(*) FROM {table.name}" + (" WHERE " + " AND ".join(where) if where else "")
        count = tx.rows(sql, args)[0][0]
    if count > XLSX_MAX_ROWS:
        raise ApiError(400, f"{count:,} rows do not fit one .xlsx sheet: use .csv or a shorter period",
                       fields={"to": f"more than {XLSX_MAX_ROWS:,} rows"})
    tmp = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    write_xlsx([(name, cols, _rows(table, cols, where, args))], tmp)
    tmp.seek(0)
    return download(tmp, _filename(name, "xlsx"))


@pages.get("/exports")
@allow()
def exports_page():
    """Every replicated table with its CSV and XLSX links, narrowed by compound and period."""
    rt = runtime()
    with rt.store.read() as tx:
        compounds = [c for c in live_tuples(tx, "compounds", ("id", "name"), order="name")
                     if served_compounds() is None or c[0] in served_compounds()]
    query = {k: v for k, v in request.args.items() if k in ("compound_id", "from", "to") and v}
    tables = [{"name": t.name, "pii": [f.name for f in t.fields if f.pii], "time": TIME_FIELDS.get(t.name),
               "query": {k: v for k, v in query.items() if k == "compound_id" or TIME_FIELDS.get(t.name)}}
              for t in rt.catalog]
    return render_template("exports.html", tables=tables, compounds=compounds, args=request.args)
