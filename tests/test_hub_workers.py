"""Four gunicorn workers on one PostgreSQL: 20 nodes pushing and pulling gate events at once all converge.

Runs only with MENWEI_TEST_PG_URL (scripts/pg_test_db.sh starts this machine's PostgreSQL and prints
one): several processes writing one SQLite file would only take turns, and that is not what a
city's hub runs. The default suite runs a short round; the long one is marked slow.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

from conftest import ADMIN, AUTH, PG_URL, hub_database_url
from hub import create_app as create_hub
from node import create_app as create_node
from node.cli import enroll_node
from test_bootstrap import state

pytestmark = pytest.mark.skipif(
    not PG_URL or os.name != "posix",
    reason="needs PostgreSQL (set MENWEI_TEST_PG_URL; scripts/pg_test_db.sh prints one) and gunicorn (POSIX)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GunicornHub:
    """`menwei hub run --workers 4` in its own process group, with an access log naming each request's worker."""

    def __init__(self, tmp_path, db_url):
        self.port, self.log = free_port(), tmp_path / "access.log"
        env = dict(os.environ, MENWEI_DATABASE_URL=db_url, MENWEI_ADMIN_TOKEN=ADMIN,
                   GUNICORN_CMD_ARGS=f"--access-logfile {self.log} --access-logformat '%(p)s %(U)s %(q)s %(s)s'")
        self.proc = subprocess.Popen([sys.executable, "-m", "menwei.cli", "hub", "run", "--workers", "4",
                                      "--threads", "1", "--port", str(self.port), "--data-dir", str(tmp_path / "hub")],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"hub exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                requests.get(self.url + "/api/v1/tables", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()
        raise AssertionError("gunicorn hub did not start within 90 s")

    def stop(self):
        """Stop the master and its workers (one process group, ours)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def run_concurrently(tmp_path, n_nodes, rounds, events, hub_edits):
    db_url = hub_database_url(tmp_path)
    setup = create_hub({"DATABASE_URL": db_url, "ADMIN_TOKEN": ADMIN}, instance_path=str(tmp_path / "hub"))
    rt = setup.extensions["menwei"]
    cid = str(uuid.uuid4())
    rt.replica.insert("compounds", cid, {"name": "绿景水岸小区"})
    hh = str(uuid.uuid4())
    rt.replica.insert("households", hh, {"compound_id": cid, "building_id": "b20", "room": "1702"})
    residents = [str(uuid.uuid4()) for _ in range(5)]
    rt.replica.write([("residents", r, {"compound_id": cid, "household_id": hh, "name": f"居民{i}"})
                      for i, r in enumerate(residents)])
    codes = {f"gate-{i:02d}": rt.registry.add(f"gate-{i:02d}", cid) for i in range(n_nodes)}
    rt.store.engine.dispose()
    hub = GunicornHub(tmp_path, db_url)
    try:
        nodes = {}
        for i, (nid, code) in enumerate(codes.items()):
            app = create_node({"DATABASE_URL": f"sqlite:///{tmp_path}/{nid}.db", "SQLITE_SYNCHRONOUS": "NORMAL",
                               "SYNC_TIMEOUT_S": 120}, instance_path=str(tmp_path / nid))
            enroll_node(app, hub.url, code)
            nodes[nid] = app.extensions["menwei"]
            if i % 2:  # half take the compound in as a snapshot, the others replay
                nodes[nid].sync_client().bootstrap()
        errors, stamps = [], {}

        def gate(nid):
            node = nodes[nid]
            try:
                node.sync_client().pull()  # a replaying node has no residents to edit before its first pull
                for r in range(rounds):
                    node.replica.write([("gate_events", str(uuid.uuid4()), {
                        "compound_id": cid, "gate": nid, "direction": "out" if k % 2 else "in", "decision": "allowed",
                        "at": f"2020-02-04T08:{r % 60:02d}:{k % 60:02d}", "household_id": hh,
                        "resident_id": residents[k % 5]}) for k in range(events)])
                    node.replica.update("residents", residents[r % 5], {"notes": f"{nid} round {r}"})
                    node.sync_client().sync_once()
            except Exception as e:  # reported below with the node that failed
                errors.append((nid, repr(e)))

        def coordinator():
            for i in range(hub_edits):  # a new connection each time, so that every worker gets some
                r = requests.patch(f"{hub.url}/api/v1/rows/residents/{residents[i % 5]}?n={i}",
                                   headers={**AUTH, "Connection": "close"}, json={"phone": f"1390000{i:04d}"},
                                   timeout=60)
                if r.status_code != 200:
                    errors.append(("hub", r.text))
                    return
                stamps[i] = r.json()["hlc"]

        threads = [threading.Thread(target=gate, args=(nid,)) for nid in nodes]
        threads.append(threading.Thread(target=coordinator))
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        assert errors == []
        for _ in range(2):  # everyone pulls what the others pushed last
            for node in nodes.values():
                node.sync_client().sync_once()
        check_converged(rt, nodes, n_nodes * rounds * events)
        check_stamps_per_worker(hub.log, stamps)
    finally:
        hub.stop()


def check_converged(rt, nodes, n_events):
    """Every node holds the hub's gate events and residents with the same versions; the log has no hole."""
    hub = type("Hub", (), {"rt": rt})()
    want = state(hub)
    assert len(want["gate_events"]) == n_events
    for nid, node in nodes.items():
        got = state(type("Node", (), {"rt": node})())
        assert got["gate_events"] == want["gate_events"], nid
        assert got["residents"] == want["residents"], nid
    with rt.store.read() as tx:
        positions = sorted(r[0] for r in tx.rows("SELECT seq FROM sync_log UNION ALL SELECT _seq FROM gate_events"))
        assert positions == list(range(1, tx.log_end() + 1))  # each position once: none skipped, none twice
        by_origin = {}
        for origin, oseq in tx.rows("SELECT origin, oseq FROM sync_log UNION ALL SELECT _origin, _oseq FROM gate_events"):
            by_origin.setdefault(origin, []).append(oseq)
    for origin, seqs in by_origin.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), origin


def check_stamps_per_worker(log_path, stamps):
    """Each worker's stamps rise in the order it served the coordinator's edits; several workers served them."""
    per_worker = {}
    for line in log_path.read_text().splitlines():
        m = re.match(r"<(\d+)> /api/v1/rows/residents/\S+ n=(\d+) 200", line)
        if m:
            per_worker.setdefault(m.group(1), []).append(stamps[int(m.group(2))])
    assert sum(map(len, per_worker.values())) == len(stamps)
    assert len(per_worker) >= 2, per_worker.keys()
    for pid, seq in per_worker.items():
        assert seq == sorted(seq) and len(set(seq)) == len(seq), pid


def test_four_workers_twenty_nodes_converge(tmp_path):
    run_concurrently(tmp_path, n_nodes=20, rounds=2, events=10, hub_edits=30)


@pytest.mark.slow
def test_four_workers_twenty_nodes_converge_under_a_long_load(tmp_path):
    run_concurrently(tmp_path, n_nodes=20, rounds=25, events=200, hub_edits=400)
