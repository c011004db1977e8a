"""Two compounds on one hub, each with a node, as the trust tests attack them (shared by tests/test_trust_*.py)."""
import uuid

import pytest

from conftest import ADMIN, Replica
from menwei.tables import SCHEMA_VERSION
from node import create_app as create_node
from node.cli import enroll_node


@pytest.fixture(name="two")
def two_fixture(cluster, tmp_path):
    """Compound A (east-gate, building-20) and B (north-gate), each with a building, a household and residents."""
    hub = cluster.hub
    cluster.b_id = hub.api("POST", "/rows/compounds", json={"name": "江北花园", "city": "新余市"}).get_json()["id"]
    cluster.households, cluster.residents = {}, {}
    for cid, tag in ((cluster.compound_id, "A"), (cluster.b_id, "B")):
        b = hub.api("POST", "/rows/buildings", json={"compound_id": cid, "number": "1"}).get_json()["id"]
        hh = hub.api("POST", "/rows/households", json={"compound_id": cid, "building_id": b, "room": "101",
                                                        "label": "1-101"}).get_json()["id"]
        cluster.households[tag] = hh
        r = hub.api("POST", "/rows/residents", json={"compound_id": cid, "household_id": hh, "name": f"居民{tag}",
                                                     "id_number": "360502198001010011"})
        assert r.status_code == 201, r.get_json()
        cluster.residents[tag] = r.get_json()["id"]
    code = hub.api("POST", "/nodes", json={"id": "north-gate", "compound_id": cluster.b_id}).get_json()["code"]
    app = create_node({"DATABASE_URL": f"sqlite:///{tmp_path}/north-gate.db", "CLOCK": cluster.base,
                       "ADMIN_TOKEN": ADMIN, "SQLITE_SYNCHRONOUS": "NORMAL"}, instance_path=str(tmp_path / "north"))
    enroll_node(app, cluster.server.url, code)
    cluster.north = Replica(app, cluster.base)
    cluster.north.hub = hub
    cluster.sync_all()
    cluster.north.sync()
    cluster.tokens = {n: r.rt.state("token") for n, r in [*cluster.nodes.items(), ("north-gate", cluster.north)]}
    return cluster


def push(hub, token, node_id, changes):
    """POST /sync/v1/push as ``node_id`` with ``token``: the test client's answer."""
    return hub.http.post("/sync/v1/push", headers={"Authorization": f"Bearer {token}"}, json={
        "node_id": node_id, "schema_version": SCHEMA_VERSION, "clock_ms": hub.clock(), "pending": 0,
        "changes": changes})


def change(two, node, table, data, row_id=None, offset=1):
    """The next change ``node`` would push (its own sequence + ``offset``)."""
    return {"seq": node.replica.own_seq() + offset, "hlc": two.hub.rt.clock.now(), "table": table,
            "id": row_id or str(uuid.uuid4()), "data": data}
