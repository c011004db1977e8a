"""The coordinator's management page: nodes and their tokens, control rules, passes and sign-in accounts.

Every action goes through the same /api/v1 routes a node's pages and scripts use; this is only the page.
"""
import dataclasses
import os
import tempfile

from flask import Blueprint, jsonify, render_template, request

from menwei.web.auth import allow
from menwei.web.errors import ApiError
from menwei.manage.registry_import import import_residents
from menwei.runtime import runtime
from menwei.store.queries import current_compound

pages = Blueprint("manage_pages", __name__, template_folder="templates")
api = Blueprint("manage_api", __name__, url_prefix="/api/v1")
REGISTER_SUFFIXES = (".xlsx", ".csv")


@pages.get("/manage")
@allow()
def manage_page():
    """Nodes (register, revoke), control rules (in force, add), passes (batch issue, print, revoke), accounts."""
    return render_template("manage.html", is_hub=runtime().role == "hub")


@api.post("/registry/import")
@allow()
def import_register():
    """Import the property office's .xlsx or .csv register (multipart ``file``); all rows or none."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "attach the register as the form field 'file'", fields={"file": "missing"})
    suffix = os.path.splitext(upload.filename)[1].lower()
    if suffix not in REGISTER_SUFFIXES:
        raise ApiError(400, "the register must be an .xlsx or .csv file", fields={"file": "not .xlsx or .csv"})
    rt = runtime()
    with rt.store.read() as tx:
        cid = request.form.get("compound_id") or current_compound(tx, field="compound_id")
        if not tx.rows("SELECT 1 FROM compounds WHERE id = ?", (cid,)):
            raise ApiError(400, f"no compound {cid}", fields={"compound_id": "unknown compound"})
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            upload.save(fh)
        try:
            report = import_residents(rt.replica, cid, path, request.form.get("sheet") or None)
        except (ValueError, KeyError) as e:
            raise ApiError(400, f"cannot read the register {upload.filename}: {e}",
                           fields={"file": f"{upload.filename}: {e}"}) from None
    finally:
        os.unlink(path)
    return jsonify(dataclasses.asdict(report))
