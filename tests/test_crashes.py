"""Crashes: a gate node process killed (SIGKILL) mid-burst keeps every answered check; sync survives SIGKILL at
any point. A SIGKILL loses the process, not the operating system's page cache: these are process crashes, not
power cuts (the durability settings a power cut relies on are asserted in tests/test_durability.py)."""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

from conftest import Cluster
from ledger import EVENT_ROWS, assert_exactly_once

CLI = [sys.executable, "-m", "menwei.cli"]
TOKEN = "crash-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _offline_node(data_dir):
    """A node database enrolled (offline) in one compound with a household of two residents."""
    from node import create_app
    app = create_app(instance_path=str(data_dir))
    rt = app.extensions["menwei"]
    cid, hh = str(uuid.uuid4()), str(uuid.uuid4())
    rt.save_enrolment("http://127.0.0.1:9", {"node_id": "east-gate", "compound_id": cid, "token": "t",
                                             "hub_id": "hub"})
    residents = [str(uuid.uuid4()) for _ in range(2)]
    rt.replica.write([("compounds", cid, {"name": "绿景水岸小区"}),
                      ("households", hh, {"compound_id": cid, "building_id": "b", "room": "1702", "label": "20-1702"})]
                     + [("residents", r, {"compound_id": cid, "household_id": hh, "name": f"居民{i}"})
                        for i, r in enumerate(residents)])
    return residents


def _start_node(data_dir, port):
    env = dict(os.environ, MENWEI_ADMIN_TOKEN=TOKEN)
    proc = subprocess.Popen(CLI + ["node", "run", "--data-dir", str(data_dir), "--port", str(port), "--no-sync"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(200):
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/tables", timeout=0.5)
            return proc
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("node did not start")


def _event_rows(data_dir, role="node"):
    """A stopped replica's gate events as ledger rows (id, client key, origin, sequence)."""
    from hub import create_app as hub_app
    from node import create_app as node_app
    rt = (hub_app if role == "hub" else node_app)(instance_path=str(data_dir)).extensions["menwei"]
    with rt.store.read() as tx:
        return tx.rows(EVENT_ROWS)


@pytest.mark.parametrize("burst", [40, 150])
def test_node_process_killed_mid_burst_keeps_every_answered_check_once(tmp_path, burst):
    residents = _offline_node(tmp_path)
    port = _port()
    node = _start_node(tmp_path, port)
    answered, unanswered, refused, stop = {}, [], [], threading.Event()

    def fire(desk):
        s = requests.Session()
        s.headers.update(AUTH)
        n = 0
        while not stop.is_set():
            n += 1
            key = f"desk{desk}-{n}"  # the volunteer's own note of this check, stored as its operator
            try:
                r = s.post(f"http://127.0.0.1:{port}/api/v1/gate/checks", timeout=5, json={
                    "resident_id": random.choice(residents), "direction": random.choice(("in", "out")),
                    "temperature": 36.5, "operator": key})
            except requests.RequestException:
                unanswered.append(key)  # the process died with this check in flight
                return
            if r.status_code != 201:
                refused.append(r.status_code)
                return
            answered[key] = r.json()["event_id"]

    workers = [threading.Thread(target=fire, args=(i,)) for i in range(3)]
    for w in workers:
        w.start()
    while len(answered) < burst and not refused:
        time.sleep(0.005)
    assert not refused, f"the node refused checks: {refused[:3]}"
    node.send_signal(signal.SIGKILL)  # mid-burst: checks are in flight on three connections
    node.wait()
    stop.set()
    for w in workers:
        w.join()
    # every answered check stored once under its id; nothing else but the (at most 3) in-flight ones
    assert_exactly_once(answered, _event_rows(tmp_path), "the killed node", unanswered=unanswered)
    assert len(unanswered) <= 3
    node = _start_node(tmp_path, port)  # and the node comes back and works
    try:
        r = requests.post(f"http://127.0.0.1:{port}/api/v1/gate/checks", timeout=5, headers=AUTH,
                          json={"resident_id": residents[0], "direction": "in", "temperature": 36.6})
        assert r.status_code == 201
    finally:
        node.terminate()
        node.wait()


def sync_kills(tmp_path, rounds, seed=2020):
    """SIGKILL the node's `menwei node sync --once` at random moments, ``rounds`` times, while gate events pile up;
    then sync once more and compare the hub with the events the node was asked to write (by client key)."""
    c = Cluster(tmp_path, node_ids=(), start_ms=None)
    rng = random.Random(seed)
    try:
        code = c.hub.api("POST", "/nodes", json={"id": "east-gate", "compound_id": c.compound_id}).get_json()["code"]
        d = tmp_path / "east-gate"
        subprocess.run(CLI + ["node", "enroll", "--hub", c.server.url, "--code", code, "--data-dir", str(d)],
                       check=True, capture_output=True)
        from node import create_app
        rep = create_app(instance_path=str(d)).extensions["menwei"].replica
        written, kills = {}, 0
        for round_no in range(rounds):
            batch = {f"r{round_no}-{i}": str(uuid.uuid4()) for i in range(rng.randrange(50, 800))}
            rep.write([("gate_events", eid, {
                "compound_id": c.compound_id, "gate": "east-gate", "direction": "out", "decision": "allowed",
                "at": f"2020-02-04T08:{round_no % 60:02d}:00Z", "operator": key}) for key, eid in batch.items()],
                create=True)
            written.update(batch)
            env = dict(os.environ, MENWEI_PUSH_BATCH=str(rng.choice((50, 200, 1000))))
            proc = subprocess.Popen(CLI + ["node", "sync", "--once", "--data-dir", str(d)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.0, 0.8))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
        final = subprocess.run(CLI + ["node", "sync", "--once", "--data-dir", str(d)], capture_output=True, text=True)
        assert final.returncode == 0, final.stdout + final.stderr
        assert "pending 0" in final.stdout
        with c.hub.rt.store.read() as tx:
            hub_rows = tx.rows(EVENT_ROWS)
        tally = assert_exactly_once(written, hub_rows, "hub")
        assert sorted(r[3] for r in hub_rows) == list(range(1, len(written) + 1))  # the node's numbers 1..n, once
        figures = {"rounds": rounds, "killed_mid_sync": kills, "events": len(written), "lost": tally["lost"],
                   "duplicated": tally["duplicated"]}
        print(json.dumps(figures))
        return figures
    finally:
        c.close()


def test_sync_killed_at_random_points_a_few_times_keeps_every_event_once(tmp_path):
    figures = sync_kills(tmp_path, rounds=4, seed=7)
    assert figures["killed_mid_sync"] >= 1  # the test really did interrupt a sync


@pytest.mark.slow
def test_sync_killed_at_random_points_50_times_loses_and_duplicates_nothing(tmp_path):
    assert sync_kills(tmp_path, rounds=50)["killed_mid_sync"] >= 10  # the test really did interrupt syncs
