"""Sign-in as an attacker tries it: where `next` may lead, what sign-out ends, and how failures back off (findings 7, 8, 10)."""
import re

import pytest

from conftest import PASSWORD

MINUTE = 60_000


@pytest.fixture
def hub(cluster):
    """The cluster's hub with an operator and a viewer account."""
    for name, role in (("op", "operator"), ("view", "viewer")):
        assert cluster.hub.api("POST", "/accounts", json={"username": name, "password": PASSWORD,
                                                          "role": role}).status_code == 201
    cluster.hub.advance = cluster.base.advance
    return cluster.hub


def _form_login(client, next_, username="op", password=PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"csrf_token": csrf, "username": username, "password": password, "next": next_})


@pytest.mark.parametrize("next_", ["/\t/evil.example", "/\n/x", "/\\evil.example", "//evil.example",
                                   "https://evil.example/", "/\r\nSet-Cookie: x=1", " /x", "/%09/evil.example"])
def test_sign_in_goes_only_to_a_path_of_this_site(hub, next_):
    r = _form_login(hub.app.test_client(), next_)
    assert r.status_code == 302
    assert r.headers["Location"] in ("/", "/%09/evil.example"), r.headers["Location"]
    assert "\n" not in r.headers["Location"] and not r.headers["Location"].startswith("//")


def test_sign_in_keeps_a_plain_local_next(hub):
    assert _form_login(hub.app.test_client(), "/dashboard?from=2020-02-01").headers["Location"] == \
        "/dashboard?from=2020-02-01"


def test_a_signed_out_session_cookie_replayed_opens_nothing(hub):
    client = hub.app.test_client()
    r = client.post("/api/v1/auth/login", json={"username": "op", "password": PASSWORD})
    csrf = r.get_json()["csrf_token"]
    stolen = client.get_cookie("session").value
    assert client.get("/api/v1/auth/me").status_code == 200
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    replay = hub.app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/api/v1/auth/me").status_code == 401
    assert replay.get("/api/v1/rows/residents").status_code == 401


def test_a_noisy_address_does_not_lock_out_a_volunteer_who_works_there(hub):
    gate = hub.app.test_client()
    assert gate.post("/api/v1/auth/login", json={"username": "view", "password": PASSWORD}).status_code == 200
    for i in range(21):  # a password sprayer on the same laptop, a different name each time
        r = gate.post("/api/v1/auth/login", json={"username": f"guess{i}", "password": "wrong-password"})
        assert r.status_code in (401, 429)
    assert r.status_code == 429  # the address backs off for names never signed in here
    assert gate.post("/api/v1/auth/login", json={"username": "newname", "password": "x"}).status_code == 429
    r = gate.post("/api/v1/auth/login", json={"username": "view", "password": PASSWORD})
    assert r.status_code == 200, r.get_json()


def test_failed_sign_ins_for_a_name_back_off_longer_each_time(hub):
    client = hub.app.test_client()
    for _ in range(5):
        assert client.post("/api/v1/auth/login", json={"username": "op", "password": "wrong-pass"}).status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "op", "password": PASSWORD})
    assert r.status_code == 429 and "秒" in r.get_json()["error"] and "seconds" in r.get_json()["error"]
    hub.advance(31_000)
    assert client.post("/api/v1/auth/login", json={"username": "op", "password": "wrong-pass"}).status_code == 401
    hub.advance(31_000)  # the second wait is twice the first
    assert client.post("/api/v1/auth/login", json={"username": "op", "password": PASSWORD}).status_code == 429
    hub.advance(30_000)
    assert client.post("/api/v1/auth/login", json={"username": "op", "password": PASSWORD}).status_code == 200


def test_wrong_enrolment_codes_are_rate_limited(hub):
    statuses = [hub.http.post("/sync/v1/enroll", json={"code": f"AAAA-{i:04d}", "node_id": "x-gate"}).status_code
                for i in range(60)]
    assert statuses[:10] == [403] * 10 and set(statuses[10:]) == {429}
    r = hub.http.post("/sync/v1/enroll", json={"code": "AAAA-BBBB", "node_id": "x-gate"})
    assert r.get_json()["code"] == "rate_limited" and r.get_json()["retry_after_s"] > 0
    code = hub.api("POST", "/nodes", json={"id": "x-gate", "compound_id": hub.api("GET", "/rows/compounds")
                                           .get_json()["rows"][0]["id"]}).get_json()["code"]
    other = hub.app.test_client()  # another address enrols with its right code meanwhile
    r = other.post("/sync/v1/enroll", json={"code": code, "node_id": "x-gate"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 200
