"""Hand-written bad input: broken bytes, huge strings, deep nesting, absurd values, injection attempts.

Every refusal is a 4xx JSON answer naming the field at fault, and a refused request leaves every table
exactly as it was. Names full of SQL and HTML are stored exactly as typed and shown escaped in pages.
"""
import json

import pytest
from menwei.tables import SCHEMA_VERSION as SCHEMA

MB = 1_000_000
NESTED = "[" * 100_000 + "]" * 100_000  # far past any parser's stack


@pytest.fixture
def world(gate):
    """The gate fixture plus a post and a volunteer, and a node sync token for the wire."""
    gate.post = gate.hub_row("posts", name="东门", kind="gate", node_id="east-gate")
    gate.vol = gate.hub_row("volunteers", name="刘洋")
    gate.sync()
    gate.token = gate.east.rt.state("token")
    return gate


def _everything(replica):
    """Every row of every table and the change log's length: what a refused request must leave alone."""
    return {t.name: replica.table(t.name) for t in replica.rt.catalog}, replica.replica.own_seq()


def _send(world, side, method, path, raw=None, body=None):
    """Send ``raw`` bytes (or ``body`` as JSON) as the coordinator, or with the node's token on /sync."""
    replica = world.hub if side == "hub" else world.east
    path = path.format(w=world)
    token = world.token if path.startswith("/sync/") else "test-coordinator-token"
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    return replica.http.open(path, method=method, data=data, content_type="application/json",
                             headers={"Authorization": f"Bearer {token}"})


def _refused(world, side, method, path, field, raw=None, body=None, status=400):
    replica = world.hub if side == "hub" else world.east
    before = _everything(replica)
    r = _send(world, side, method, path, raw, body)
    assert r.status_code == status, (r.status_code, r.get_data()[:300])
    got = r.get_json()
    assert got["status"] == status and got["error"]
    assert field in json.dumps(got.get("fields") or {}, ensure_ascii=False), (field, got)
    assert _everything(replica) == before, "a refused request changed the data"
    return got


#: Endpoints that take a JSON body, each with one valid-looking body (side, method, path, body).
WRITES = [
    ("hub", "POST", "/api/v1/rows/residents", {"compound_id": "{w.cluster.compound_id}", "name": "x"}),
    ("hub", "PATCH", "/api/v1/rows/residents/{w.zhang}", {"name": "x"}),
    ("hub", "POST", "/api/v1/accounts", {"username": "x1", "password": "password-1", "role": "viewer"}),
    ("hub", "POST", "/api/v1/auth/login", {"username": "x1", "password": "password-1"}),
    ("hub", "POST", "/api/v1/gate/passes", {"kind": "outing", "household_id": "x"}),
    ("hub", "POST", "/api/v1/nodes", {"id": "x", "compound_id": "x"}),
    ("node", "POST", "/api/v1/gate/checks", {"direction": "in", "temperature": 36.5, "room": "20-1702"}),
    ("node", "POST", "/api/v1/gate/search", {"q": "张"}),
    ("node", "POST", "/api/v1/roster/handovers", {"post_id": "x", "note": "x"}),
    ("node", "POST", "/api/v1/basket/receipts", {"volunteer_id": "x", "amount": 1, "delivery_date": "2020-02-03"}),
    ("hub", "POST", "/sync/v1/push", {"node_id": "east-gate", "schema_version": SCHEMA, "clock_ms": 1, "changes": []}),
    ("hub", "POST", "/sync/v1/enroll", {"code": "xxxxxx"}),
]
_IDS = [f"{m} {p}" for _, m, p, _ in WRITES]


@pytest.mark.parametrize("side,method,path,body", WRITES, ids=_IDS)
@pytest.mark.parametrize("raw", [
    b'{"name": "\xff\xfe\xfd"}',  # invalid UTF-8
    b'{"name": "\\ud800"}',  # a lone surrogate: valid JSON text, not storable Unicode
    b'{"name": "\xed\xa0\x80"}',  # the same surrogate as raw (CESU) bytes
    NESTED.encode(),  # deep enough to exhaust a recursive parser
    b'{"temperature": NaN}',  # not JSON
    b'{"name": "x"',  # cut short
    b'["a", "list"]',  # JSON, but not an object
], ids=["bad-utf8", "lone-surrogate", "surrogate-bytes", "nested-100k", "nan", "truncated", "not-object"])
def test_unreadable_bodies_are_refused_naming_the_body(world, side, method, path, body, raw):
    _refused(world, side, method, path, "body", raw=raw)


@pytest.mark.parametrize("side,method,path,body", WRITES, ids=_IDS)
def test_a_megabyte_in_every_field_is_refused_naming_it(world, side, method, path, body):
    body = {k: (v.format(w=world) if isinstance(v, str) else v) for k, v in body.items()}
    for field in [k for k, v in body.items() if isinstance(v, str)]:
        _refused(world, side, method, path, field, body={**body, field: "门" * MB})


def test_a_body_over_the_size_limit_is_413_json(world):
    limit = world.hub.app.config["MAX_CONTENT_LENGTH"]
    world.hub.app.config["MAX_CONTENT_LENGTH"] = 2 * MB
    try:
        before = _everything(world.hub)
        r = _send(world, "hub", "POST", "/api/v1/rows/residents", body={"name": "x" * (3 * MB)})
        assert r.status_code == 413 and r.get_json()["error"] == "request body too large"
        assert _everything(world.hub) == before
    finally:
        world.hub.app.config["MAX_CONTENT_LENGTH"] = limit


@pytest.mark.parametrize("path,body,field", [
    ("/api/v1/rows/gate_events", {"gate": "x", "direction": "in", "at": "2020-02-03T08:00:00Z", "decision": "allowed",
                                  "reasons": json.loads("[" * 40 + "]" * 40)}, "reasons"),
    ("/api/v1/rows/residents", {"household_id": "{w.h1702}", "name": {"a": {"b": {"c": [1, [2, [3]]]}}}}, "name"),
    ("/api/v1/roster/fill", {"post_id": "{w.post}", "start_date": "2020-02-03", "shift_hours": 4,
                             "volunteer_ids": [["{w.vol}"]]}, "volunteer_ids"),
], ids=["json-field-40-deep", "object-for-a-name", "list-in-a-list"])
def test_nesting_where_none_belongs_is_refused_naming_the_field(world, path, body, field):
    body = json.loads(json.dumps(body).replace("{w.h1702}", world.h1702).replace("{w.post}", world.post)
                      .replace("{w.vol}", world.vol))
    if "/rows/" in path:
        body["compound_id"] = world.cluster.compound_id
    _refused(world, "node", "POST", path, field, body=body)


@pytest.mark.parametrize("temperature", [1000, -273.15, 0, 43.01, 1e308, "hot", True, None, [36.5], "NaN"])
def test_absurd_temperatures_at_the_gate_are_refused(world, temperature):
    _refused(world, "node", "POST", "/api/v1/gate/checks", "temperature",
             body={"resident_id": world.zhang, "direction": "in", "temperature": temperature})


@pytest.mark.parametrize("table,field,value", [
    ("gate_events", "temperature", 99.0), ("gate_events", "temperature", -40),
    ("control_rules", "fever_threshold", 100), ("buildings", "floors", 2 ** 64), ("buildings", "floors", 1.5),
])
def test_absurd_numbers_in_rows_are_refused(world, table, field, value):
    base = {"gate_events": {"gate": "x", "direction": "in", "at": "2020-02-03T08:00:00Z", "decision": "allowed"},
            "control_rules": {"effective_from": "2020-02-03T00:00:00Z"}, "buildings": {"number": "99"}}[table]
    _refused(world, "hub", "POST", f"/api/v1/rows/{table}",
             field, body={"compound_id": world.cluster.compound_id, **base, field: value})


@pytest.mark.parametrize("side,path,body,field", [
    ("hub", "/api/v1/rows/residents", {"household_id": "{h}", "name": "x", "birth_date": "9999-12-31"}, "birth_date"),
    ("hub", "/api/v1/rows/control_rules", {"effective_from": "9999-12-31T23:59:59Z"}, "effective_from"),
    ("hub", "/api/v1/rows/shifts", {"post_id": "{p}", "starts_at": "9999-12-31T20:00:00Z",
                                    "ends_at": "9999-12-31T23:00:00Z"}, "starts_at"),
    ("hub", "/api/v1/rows/passes", {"kind": "outing", "code": "ZZZZZZ", "valid_until": "9999-12-31T23:59:59+00:00"},
     "valid_until"),
    ("hub", "/api/v1/rows/incidents", {"kind": "tip", "status": "open", "title": "x",
                                       "opened_at": "0001-01-01T00:00:00+14:00"}, "opened_at"),
    ("hub", "/api/v1/gate/passes", {"kind": "outing", "household_id": "{h}", "valid_until": "9999-12-31T23:59:59Z"},
     "valid_until"),
    ("hub", "/api/v1/gate/passes/batch", {"building_id": "{b}", "valid_until": "9999-12-31T23:59:59Z"}, "valid_until"),
    ("node", "/api/v1/roster/fill", {"post_id": "{p}", "start_date": "9999-12-30", "shift_hours": 4}, "start_date"),
    ("node", "/api/v1/basket/chains/import", {"text": "20-1702 白菜1", "building": "20",
                                              "delivery_date": "9999-12-31"}, "delivery_date"),
    ("node", "/api/v1/basket/receipts", {"volunteer_id": "{v}", "amount": 5, "delivery_date": "9999-12-31"},
     "delivery_date"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None)
def test_dates_far_in_the_future_or_past_are_refused_naming_the_field(world, side, path, body, field):
    text = json.dumps(body).replace("{h}", world.h1702).replace("{p}", world.post).replace("{b}", world.b20)
    body = json.loads(text.replace("{v}", world.vol))
    if "/rows/" in path:
        body["compound_id"] = world.cluster.compound_id
    _refused(world, side, "POST", path, field, body=body)


NASTY = ["Robert'); DROP TABLE residents;--", '" OR 1=1 --', "%_\\%", "<script>alert('门卫')</script>",
         "<img src=x onerror=alert(1)>", "&lt;already escaped&gt;", "王\u200b五 \t\n", "ﾍﾟﾝ 😷 𠮷"]


@pytest.mark.parametrize("name", NASTY)
def test_sql_and_html_in_names_are_stored_exactly_and_found_exactly(world, name):
    hub = world.hub
    r = hub.api("POST", "/rows/residents", json={"compound_id": world.cluster.compound_id,
                                                  "household_id": world.h1702, "name": name})
    assert r.status_code == 201, r.get_json()
    rid = r.get_json()["id"]
    assert hub.api("GET", f"/rows/residents/{rid}").get_json()["name"] == name
    found = hub.api("GET", "/rows/residents", query_string={"name": name}).get_json()["rows"]
    assert [x["id"] for x in found] == [rid]  # a filter value is data, never SQL
    assert len(hub.table("residents")) == 4  # and no table was dropped or emptied
    world.sync()
    assert world.east.table("residents")[rid][2] == name  # it travels unchanged
    hits = world.east.api("POST", "/gate/search", json={"q": name[:20]})
    assert hits.status_code == 200


@pytest.mark.parametrize("name", [n for n in NASTY if "<" in n or "&" in n])
def test_html_in_names_is_shown_escaped_in_the_roster_and_pass_pages_and_never_raw_in_the_basket(world, name):
    hub = world.hub
    post = world.hub_row("posts", name=name, kind="gate")
    world.hub_row("volunteers", name=name)
    world.hub_row("households", building_id=world.b20, room="99", label=name[:40])
    r = hub.api("POST", "/roster/fill", json={"post_id": post, "start_date": "2020-02-03", "days": 1,
                                             "shift_hours": 12, "volunteer_ids": [world.vol]})
    assert r.status_code == 201, r.get_json()
    p = hub.api("POST", "/gate/passes", json={"kind": "visitor", "holder_name": name[:50], "reason": name,
                                              "valid_hours": 4}).get_json()
    for path in ("/roster", "/roster/print", "/basket", f"/passes/print?id={p['id']}"):
        page = hub.http.get(path, headers={"Authorization": "Bearer test-coordinator-token"})
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
        if path == "/basket":  # its lists (volunteers, orders) are filled by its script from the API, not the page
            continue
        if name.startswith("<"):
            assert "&lt;" in html, path
        if name.startswith("&lt;"):
            assert "&amp;lt;already" in html, path  # escaped once more: shown as typed


def test_a_push_carrying_poison_is_refused_whole(world):
    """Values the hub's database could not store or serve back are refused before anything is applied."""
    seq = world.east.replica.own_seq()
    for data, field in [({"name": "a\x00b"}, "NUL"), ({"reasons": json.loads("[" * 300 + "]" * 300)}, "nested"),
                        ({"birth_date": "9999-12-31"}, "year")]:
        table = "gate_events" if "reasons" in data else "residents"
        change = {"seq": seq + 1, "hlc": 1, "table": table, "id": "f3d5c9a2-0000-4000-8000-000000000001", "data": data}
        got = _refused(world, "hub", "POST", "/sync/v1/push", "changes", body={
            "node_id": "east-gate", "schema_version": SCHEMA, "clock_ms": world.cluster.base(), "changes": [change]})
        assert field in json.dumps(got["fields"]), got


@pytest.mark.parametrize("query", [
    {"schema_version": 2 ** 63}, {"schema_version": SCHEMA, "cursor": 2 ** 64}, {"schema_version": SCHEMA, "clock_ms": -1},
    {"schema_version": SCHEMA, "pending": 10 ** 30}, {"schema_version": "二"}])
def test_a_pull_with_numbers_out_of_range_is_refused(world, query):
    r = world.hub.http.get("/sync/v1/pull", query_string=query, headers={"Authorization": f"Bearer {world.token}"})
    assert r.status_code == 400 and set(r.get_json()["fields"]) <= {"schema_version", "cursor", "clock_ms", "pending"}


@pytest.mark.parametrize("path,field", [
    ("/rows/residents?limit=-9223372036854775809", "limit"), ("/rows/residents?limit=0", "limit"),
    ("/gate/events?limit=99999999999999999999", "limit"), ("/roster/coverage?days=-1", "days"),
    ("/basket/orders?date=9999-99-99", "date")])
def test_query_numbers_out_of_range_are_refused_naming_them(world, path, field):
    r = world.east.api("GET", path)
    assert r.status_code == 400 and field in r.get_json()["fields"], r.get_json()


def test_a_conflict_id_past_64_bits_is_not_found_rather_than_a_crash(world):
    r = world.hub.api("POST", f"/conflicts/{2 ** 63}/resolve", json={"keep": "loser"})
    assert r.status_code == 404 and r.get_json()["error"]
    r = world.hub.api("POST", f"/conflicts/{2 ** 63 - 1}/resolve", json={"keep": "loser"})
    assert r.status_code == 404 and "no conflict" in r.get_json()["error"]


def test_a_push_with_a_negative_pending_estimate_is_accepted(world):
    """A node's queue estimate dips below zero when checks land during a push: that is no bad input."""
    r = _send(world, "hub", "POST", "/sync/v1/push", body={"node_id": "east-gate", "schema_version": SCHEMA,
                                                            "clock_ms": world.cluster.base(), "pending": -3,
                                                            "changes": []})
    assert r.status_code == 200, r.get_json()
