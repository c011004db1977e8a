"""Receipt photos: one check in the receipts table's declaration, whichever way a photo is written (finding 2)."""
import base64
import uuid

import pytest

from trust_fixtures import change, push, two_fixture  # noqa: F401  (the fixture "two")
from conftest import PASSWORD

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
HTML = b"<script>fetch('/api/v1/auth/me').then(r=>r.json()).then(x=>alert(x.csrf_token))</script>"


def _url(kind, raw):
    return f"data:{kind};base64," + base64.b64encode(raw).decode()


def _volunteer_session(hub, node):
    r = hub.api("POST", "/accounts", json={"username": "basket-b", "password": PASSWORD, "role": "volunteer",
                                           "compound_id": node.rt.compound_id})
    assert r.status_code == 201
    node.sync()
    client = node.app.test_client()
    token = client.post("/api/v1/auth/login", json={"username": "basket-b", "password": PASSWORD}).get_json()["csrf_token"]
    return client, {"X-CSRF-Token": token}


def _receipt(photo):
    return {"volunteer_id": str(uuid.uuid4()), "delivery_date": "2020-02-04", "total": 12.5, "photo": photo}


@pytest.mark.parametrize("photo", [
    _url("text/html", HTML),                 # the stored script of issue 17
    _url("image/png", HTML),                 # an image in name only
    _url("image/jpeg", PNG),                 # the wrong image type for its bytes
    _url("image/svg+xml", b"<svg onload=alert(1)>"),
    "data:image/png;base64,%%%notbase64",
    "javascript:alert(1)",
])
def test_every_way_of_writing_a_receipt_refuses_what_is_not_the_image_it_says(two, photo):
    north = two.north
    client, csrf = _volunteer_session(two.hub, north)
    before = north.table("receipts")
    r = client.post("/api/v1/rows/receipts", headers=csrf, json=_receipt(photo))
    assert r.status_code == 400 and "photo" in r.get_json()["fields"], r.get_json()
    body = _receipt(photo)
    r = client.post("/api/v1/basket/receipts", headers=csrf, json={
        "volunteer_id": body["volunteer_id"], "delivery_date": "2020-02-04", "amount": 12.5, "photo": photo})
    assert r.status_code == 400 and "photo" in r.get_json()["fields"], r.get_json()
    assert north.table("receipts") == before
    r = push(two.hub, two.tokens["north-gate"], "north-gate",
             [change(two, north, "receipts", dict(_receipt(photo), compound_id=two.b_id))])
    assert r.status_code == 400 and "photo" in str(r.get_json()["fields"])


def test_a_receipt_photo_is_served_as_its_own_image_type_with_nosniff(two):
    north = two.north
    client, csrf = _volunteer_session(two.hub, north)
    r = client.post("/api/v1/rows/receipts", headers=csrf, json=_receipt(_url("image/png", PNG)))
    assert r.status_code == 201, r.get_json()
    rid = r.get_json()["id"]
    r = client.get(f"/api/v1/basket/receipts/{rid}/photo")
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data == PNG
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_a_photo_stored_before_the_check_is_never_served_as_a_page(two):
    north = two.north
    rid = str(uuid.uuid4())
    north.replica.insert("receipts", rid, dict(_receipt(None), compound_id=two.b_id))
    with north.rt.store.write() as tx:  # what an older Menwei let through
        tx.execute("UPDATE receipts SET photo = ? WHERE id = ?", (_url("text/html", HTML), rid))
    r = north.api("GET", f"/basket/receipts/{rid}/photo")
    assert r.status_code == 404 and b"<script>" not in r.data


def test_the_hub_serves_a_receipt_photo_only_to_an_account_of_its_compound(two):
    hub, north = two.hub, two.north
    client, csrf = _volunteer_session(hub, north)
    rid = client.post("/api/v1/rows/receipts", headers=csrf, json=_receipt(_url("image/png", PNG))).get_json()["id"]
    north.sync()
    for username, cid in (("viewer-a", two.compound_id), ("viewer-b", two.b_id)):
        hub.api("POST", "/accounts", json={"username": username, "password": PASSWORD, "role": "viewer",
                                           "compound_id": cid})
    a, b = hub.app.test_client(), hub.app.test_client()
    a.post("/api/v1/auth/login", json={"username": "viewer-a", "password": PASSWORD})
    b.post("/api/v1/auth/login", json={"username": "viewer-b", "password": PASSWORD})
    assert a.get(f"/api/v1/basket/receipts/{rid}/photo").status_code == 404
    r = b.get(f"/api/v1/basket/receipts/{rid}/photo")
    assert r.status_code == 200 and r.data == PNG
