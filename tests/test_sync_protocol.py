"""The push/pull protocol over real HTTP: idempotence, auth, schema and skew guards, bad payloads."""
import gzip
import json
import uuid

import pytest
import requests

from menwei.tables import CATALOG
from sync.http_client import SyncFailed


def _household(node, cluster, room="1702"):
    b = node.api("POST", "/rows/buildings", json={"number": "20", "name": "20栋"}).get_json()["id"]
    return node.api("POST", "/rows/households", json={"building_id": b, "room": room,
                                                       "label": f"20-{room}"}).get_json()["id"]


def _event(node, n=0):
    return {"gate": node.replica.id, "direction": "out", "at": f"2020-02-04T08:{n // 60 % 60:02d}:{n % 60:02d}",
            "decision": "allowed", "temperature": 36.5, "person_name": f"居民{n}"}


def _counts(replica):
    return {t: len(replica.table(t)) for t in ("buildings", "households", "residents", "gate_events")}, \
        len(replica.table("gate_events"))


def _push_raw(cluster, node, changes, token=None, node_id=None, schema_version=CATALOG.schema_version, gz=True, raw=None):
    body = raw if raw is not None else json.dumps({
        "node_id": node_id or node.replica.id, "schema_version": schema_version,
        "clock_ms": node.clock(), "changes": changes}).encode()
    headers = {"Content-Type": "application/json"}
    if token is not False:
        headers["Authorization"] = f"Bearer {token or node.rt.state('token')}"
    if gz:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return requests.post(cluster.server.url + "/sync/v1/push", data=body, headers=headers, timeout=10)


def test_edit_at_a_node_reaches_the_hub_and_the_other_node(cluster):
    east, b20 = cluster.nodes["east-gate"], cluster.nodes["building-20"]
    hh = _household(east, cluster)
    rid = east.api("POST", "/rows/residents", json={"household_id": hh, "name": "张三",
                                                     "phone": "13812345678"}).get_json()["id"]
    cluster.sync_all()
    assert b20.table("residents")[rid] == cluster.hub.table("residents")[rid] == east.table("residents")[rid]
    b20.api("PATCH", f"/rows/residents/{rid}", json={"notes": "在家隔离"})
    cluster.sync_all()
    assert east.api("GET", f"/rows/residents/{rid}").get_json()["notes"] == "在家隔离"


def test_hub_edit_reaches_every_node_through_pull(cluster):
    r = cluster.hub.api("PATCH", f"/rows/compounds/{cluster.compound_id}", json={"address": "仙来西大道"})
    assert r.status_code == 200
    cluster.sync_all(rounds=1)
    for node in cluster.nodes.values():
        assert node.api("GET", f"/rows/compounds/{cluster.compound_id}").get_json()["address"] == "仙来西大道"


def test_resent_batch_changes_nothing_after_the_first(cluster):
    east = cluster.nodes["east-gate"]
    for i in range(5):
        east.api("POST", "/rows/gate_events", json=_event(east, i))
    batch = [ch for _, ch in east.replica.outbox(0, 100)]
    answers = [_push_raw(cluster, east, batch) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert answers[0].json()["applied"] == 5
    assert all(a.json()["applied"] == 0 and a.json()["duplicates"] == 5 for a in answers[1:])
    assert all(a.json()["acked_seq"] == 5 for a in answers)
    assert len(cluster.hub.table("gate_events")) == 5
    with cluster.hub.rt.store.read() as tx:
        assert tx.rows("SELECT COUNT(*) FROM gate_events WHERE _origin = 'east-gate'")[0][0] == 5


def test_connection_dropped_after_commit_loses_and_duplicates_nothing(cluster, monkeypatch):
    east = cluster.nodes["east-gate"]
    written = {east.api("POST", "/rows/gate_events", json=_event(east, i)).get_json()["id"] for i in range(30)}
    assert len(written) == 30  # the record the hub is checked against: the ids the node answered
    client = east.rt.sync_client()
    real_post = client.http.post

    def post_then_drop(*args, **kwargs):
        real_post(*args, **kwargs)  # the hub receives and commits the batch…
        raise requests.ConnectionError("connection reset before the acknowledgement was read")

    monkeypatch.setattr(client.http, "post", post_then_drop)
    with pytest.raises(SyncFailed):
        client.sync_once()
    assert client.pending() == 30  # the node could not know: it keeps them queued
    assert east.api("GET", "/sync/status").get_json()["last_error"].startswith("hub unreachable")
    monkeypatch.setattr(client.http, "post", real_post)
    client.sync_once()
    assert client.pending() == 0
    assert set(cluster.hub.table("gate_events")) == written  # each id the node answered, and no other
    with cluster.hub.rt.store.read() as tx:  # and each of the node's numbers once
        assert tx.rows("SELECT COUNT(*), COUNT(DISTINCT _oseq) FROM gate_events WHERE _origin = 'east-gate'")[0] \
            == (30, 30)


@pytest.mark.parametrize("case, status, code", [
    ("no token", 401, "no_token"),
    ("wrong token", 401, "bad_token"),
    ("revoked token", 403, "revoked"),
    ("another origin", 403, "wrong_origin"),
])
def test_bad_credentials_are_refused_and_nothing_is_stored(cluster, case, status, code):
    east, b20 = cluster.nodes["east-gate"], cluster.nodes["building-20"]
    east.api("POST", "/rows/gate_events", json=_event(east))
    batch = [ch for _, ch in east.replica.outbox(0, 10)]
    kwargs = {}
    if case == "no token":
        kwargs["token"] = False
    elif case == "wrong token":
        kwargs["token"] = "not-a-real-token"
    elif case == "revoked token":
        assert cluster.hub.api("POST", "/nodes/east-gate/revoke").status_code == 200
    elif case == "another origin":
        kwargs["token"] = b20.rt.state("token")  # building-20's token, claiming to be east-gate
    r = _push_raw(cluster, east, batch, **kwargs)
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert cluster.hub.table("gate_events") == {}
    if case != "another origin":  # the same credentials cannot pull either
        pull = requests.get(cluster.server.url + "/sync/v1/pull", params={"schema_version": CATALOG.schema_version}, timeout=10,
                            headers={} if case == "no token" else
                            {"Authorization": f"Bearer {kwargs.get('token') or east.rt.state('token')}"})
        assert pull.status_code == status


def test_node_cannot_push_rows_of_another_compound(cluster):
    east = cluster.nodes["east-gate"]
    other = cluster.hub.api("POST", "/rows/compounds", json={"name": "别的小区"}).get_json()["id"]
    change = {"seq": 1, "hlc": east.replica.clock.now(), "table": "buildings", "id": str(uuid.uuid4()),
              "data": {"compound_id": other, "number": "1"}}
    r = _push_raw(cluster, east, [change])
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    assert cluster.hub.table("buildings") == {}


def test_node_receives_only_its_own_compound(cluster):
    other = cluster.hub.api("POST", "/rows/compounds", json={"name": "别的小区"}).get_json()["id"]
    cluster.hub.api("POST", "/rows/buildings", json={"compound_id": other, "number": "9"})
    mine = cluster.hub.api("POST", "/rows/buildings", json={"compound_id": cluster.compound_id,
                                                           "number": "20"}).get_json()["id"]
    cluster.sync_all(rounds=1)
    east = cluster.nodes["east-gate"]
    assert list(east.table("buildings")) == [mine]
    assert list(east.table("compounds")) == [cluster.compound_id]


def test_schema_mismatch_is_refused_with_409_and_kept_queued(cluster):
    east = cluster.nodes["east-gate"]
    east.api("POST", "/rows/gate_events", json=_event(east))
    r = _push_raw(cluster, east, [ch for _, ch in east.replica.outbox(0, 10)], schema_version=99)
    assert r.status_code == 409 and r.json()["code"] == "schema_mismatch"
    assert "upgrade" in r.json()["error"]
    assert cluster.hub.table("gate_events") == {}
    client = east.rt.sync_client()
    client.schema_version = 99
    with pytest.raises(SyncFailed, match="schema version 99"):
        client.sync_once()
    assert client.pending() == 1
    nodes = {n["id"]: n for n in cluster.hub.api("GET", "/nodes").get_json()["nodes"]}
    assert nodes["east-gate"]["schema_version"] == 99 and "schema version" in nodes["east-gate"]["last_error"]


def test_far_future_stamps_are_refused_kept_queued_and_alarmed(tmp_path):
    from conftest import Cluster
    c = Cluster(tmp_path, node_ids=("east-gate",), offsets_ms={"east-gate": 3600_000})  # an hour ahead
    try:
        east = c.nodes["east-gate"]
        east.api("POST", "/rows/gate_events", json=_event(east))
        c.hub.api("PATCH", f"/rows/compounds/{c.compound_id}", json={"address": "hub edit"})
        with pytest.raises(SyncFailed, match="ahead of this clock"):
            east.sync()
        status = east.api("GET", "/sync/status").get_json()
        assert status["skew_alarm"] is True and status["pending"] == 1
        assert status["last_error_code"] == "clock_skew"
        assert c.hub.table("gate_events") == {}
        # pull still worked: the node has the hub's edit even while its own changes wait
        assert east.api("GET", f"/rows/compounds/{c.compound_id}").get_json()["address"] == "hub edit"
        hub_view = {n["id"]: n for n in c.hub.api("GET", "/nodes").get_json()["nodes"]}["east-gate"]
        assert 3590_000 <= hub_view["skew_ms"] <= 3610_000 and "ahead" in hub_view["last_error"]
        c.base.advance(3600_000)  # once the hub's time has caught up, the queued change is accepted
        east.sync()
        assert len(c.hub.table("gate_events")) == 1
    finally:
        c.close()


def test_node_whose_clock_is_a_day_behind_syncs_normally(tmp_path):
    from conftest import Cluster
    c = Cluster(tmp_path, node_ids=("east-gate",), offsets_ms={"east-gate": -86_400_000})
    try:
        east = c.nodes["east-gate"]
        east.sync()
        r = east.api("PATCH", f"/rows/compounds/{c.compound_id}", json={"address": "old clock edit"})
        assert r.status_code == 200
        east.sync()
        # its edit was stamped after the hub's creation of the row (HLC), so it wins everywhere
        assert c.hub.api("GET", f"/rows/compounds/{c.compound_id}").get_json()["address"] == "old clock edit"
        assert east.api("GET", "/sync/status").get_json()["skew_ms"] == pytest.approx(-86_400_000, abs=10_000)
    finally:
        c.close()


@pytest.mark.parametrize("mutate, field", [
    (lambda ch: ch.update(hlc="soon"), "hlc"),
    (lambda ch: ch.pop("seq"), "seq"),
    (lambda ch: ch.update(table="passwords"), "table"),
    (lambda ch: ch["data"].update(shoe_size=42), "shoe_size"),
    (lambda ch: ch["data"].update(temperature="hot"), "temperature"),
    (lambda ch: ch["data"].update(direction="sideways"), "direction"),
    (lambda ch: ch.update(origin="hub"), "origin"),
    (lambda ch: ch.update(id="a\x00b"), "id"),  # PostgreSQL cannot store it: a 500 on every sync, for ever
])
def test_bad_change_is_refused_naming_the_problem_and_nothing_is_stored(cluster, mutate, field):
    east = cluster.nodes["east-gate"]
    for i in range(3):
        east.api("POST", "/rows/gate_events", json=_event(east, i))
    batch = [ch for _, ch in east.replica.outbox(0, 10)]
    mutate(batch[2])
    r = _push_raw(cluster, east, batch)
    assert r.status_code == 400
    assert field in json.dumps(r.json(), ensure_ascii=False)
    assert cluster.hub.table("gate_events") == {}


@pytest.mark.parametrize("raw, gz, fragment", [
    (b"this is not json", False, "not valid JSON"),
    (b"\xff\xfe\x00garbage", False, "not valid JSON"),
    (b"[1, 2, 3]", False, "JSON object"),
    (b"{}", False, "node_id"),
    (b"not gzip at all", "lie", "gzip"),
])
def test_malformed_body_gets_400_naming_the_problem(cluster, raw, gz, fragment):
    east = cluster.nodes["east-gate"]
    headers = {"Authorization": f"Bearer {east.rt.state('token')}", "Content-Type": "application/json"}
    if gz == "lie":
        headers["Content-Encoding"] = "gzip"
    r = requests.post(cluster.server.url + "/sync/v1/push", data=raw, headers=headers, timeout=10)
    assert r.status_code == 400
    assert fragment in json.dumps(r.json())


def test_oversized_batch_gets_413(cluster):
    east = cluster.nodes["east-gate"]
    change = {"seq": 1, "hlc": 1, "table": "gate_events", "id": "x", "data": {"gate": "g"}}
    r = _push_raw(cluster, east, [dict(change, seq=i + 1, id=str(i)) for i in range(20_001)])
    assert r.status_code == 413 and "20000" in r.json()["error"]
    assert cluster.hub.table("gate_events") == {}


def test_gzip_bomb_gets_413(cluster):
    east = cluster.nodes["east-gate"]
    bomb = gzip.compress(b'{"node_id":"' + b" " * (80 * 1024 * 1024) + b'"}')
    r = requests.post(cluster.server.url + "/sync/v1/push", data=bomb, timeout=30,
                      headers={"Authorization": f"Bearer {east.rt.state('token')}", "Content-Encoding": "gzip"})
    assert r.status_code == 413


def test_a_gap_in_sequence_numbers_is_refused(cluster):
    east = cluster.nodes["east-gate"]
    for i in range(3):
        east.api("POST", "/rows/gate_events", json=_event(east, i))
    batch = [ch for _, ch in east.replica.outbox(0, 10)]
    r = _push_raw(cluster, east, batch[1:])
    assert r.status_code == 409 and r.json()["code"] == "sequence_gap" and r.json()["expected_seq"] == 1
    assert cluster.hub.table("gate_events") == {}


def test_enrolment_code_works_once(cluster):
    code = cluster.hub.api("POST", "/nodes", json={"id": "west-gate",
                                                    "compound_id": cluster.compound_id}).get_json()["code"]
    first = requests.post(cluster.server.url + "/sync/v1/enroll", json={"code": code.lower()}, timeout=10)
    again = requests.post(cluster.server.url + "/sync/v1/enroll", json={"code": code}, timeout=10)
    assert first.status_code == 200 and first.json()["node_id"] == "west-gate"
    assert again.status_code == 403


def test_row_created_then_edited_offline_is_accepted_in_one_batch(cluster):
    east = cluster.nodes["east-gate"]
    hh = _household(east, cluster)
    rid = east.api("POST", "/rows/residents", json={"household_id": hh, "name": "李四"}).get_json()["id"]
    east.api("PATCH", f"/rows/residents/{rid}", json={"notes": "离家"})
    east.api("DELETE", f"/rows/residents/{rid}")
    east.sync()
    assert cluster.hub.table("residents")[rid] == east.table("residents")[rid]
    assert cluster.hub.table("residents")[rid][-1] == 1  # the tombstone travelled too
