"""Load: 20 real gate node processes syncing to one real hub at once while volunteers check people in.

Four compounds of five gates each. Every check must be answered, no sync may fail, no event may be
lost or duplicated, and each gate ends up holding exactly its own compound's events. Prints
throughput: checks answered per second at the desks, gate events merged per second at the hub.
"""
import json
import os
import random
import sqlite3
import statistics
import subprocess
import threading
import time

import pytest
import requests

from ledger import assert_exactly_once
from test_crashes import CLI, _event_rows, _port
from test_hub_crashes import _until, _wait_up

TOKEN = "load-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECONDS = float(os.environ.get("MENWEI_LOAD_S", 30))
COMPOUNDS, GATES = 4, 5
ENV = dict(os.environ, MENWEI_ADMIN_TOKEN=TOKEN, MENWEI_SYNC_INTERVAL_S="1", MENWEI_SYNC_BACKOFF_MAX_S="2")


class Desk(threading.Thread):
    """A volunteer checking residents in and out at one gate, recording each answer and its latency."""

    def __init__(self, url, residents, seed):
        super().__init__(daemon=True)
        self.url, self.residents, self.rng, self.seed = url, residents, random.Random(seed), seed
        self.answered, self.latencies, self.errors, self.stop = {}, [], [], threading.Event()

    def run(self):
        s = requests.Session()
        s.headers.update(AUTH)
        n = 0
        while not self.stop.is_set():
            t0 = time.perf_counter()
            n += 1
            key = f"{self.seed}-{n}"  # the desk's own key for this check, stored as its operator
            try:
                r = s.post(self.url + "/api/v1/gate/checks", timeout=30, json={
                    "resident_id": self.rng.choice(self.residents), "direction": self.rng.choice(("in", "out")),
                    "temperature": 36.4, "operator": key})
            except requests.RequestException as e:
                self.errors.append(repr(e))
                return
            if r.status_code != 201:
                self.errors.append((r.status_code, r.text[:200]))
                return
            self.latencies.append(time.perf_counter() - t0)
            self.answered[key] = r.json()["event_id"]
            time.sleep(self.rng.uniform(0.01, 0.05))  # a person steps up to the desk


def _hub_events(hub_db):
    db = sqlite3.connect(hub_db, timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM gate_events").fetchone()[0]
    finally:
        db.close()


def load(tmp_path, compounds, gates, seconds):
    """Run ``compounds`` × ``gates`` node processes against one hub for ``seconds``; check against the desks'
    own record of answered checks and return the figures."""
    from node.cli import enroll_node, node_app
    hub_dir, port = tmp_path / "hub", _port()
    hub_url = f"http://127.0.0.1:{port}"
    logs = {}

    def spawn(name, args):
        logs[name] = open(tmp_path / f"{name}.log", "wb")
        return subprocess.Popen(CLI + args, env=ENV, stdout=logs[name], stderr=subprocess.STDOUT)

    hub = spawn("hub", ["hub", "run", "--data-dir", str(hub_dir), "--port", str(port), "--threads", "8"])
    procs, desks, urls, compound_of = [hub], [], {}, {}
    try:
        assert _wait_up(hub_url, hub)
        api = requests.Session()
        api.headers.update(AUTH)
        residents = {}
        for c in range(compounds):
            cid = api.post(hub_url + "/api/v1/rows/compounds", json={"name": f"小区{c}"}).json()["id"]
            hh = api.post(hub_url + "/api/v1/rows/households", json={
                "compound_id": cid, "building_id": "b1", "room": "101", "label": "1-101"}).json()["id"]
            residents[cid] = [api.post(hub_url + "/api/v1/rows/residents", json={
                "compound_id": cid, "household_id": hh, "name": f"居民{c}-{i}"}).json()["id"] for i in range(10)]
            for g in range(gates):
                nid = f"gate-{c}-{g}"
                code = api.post(hub_url + "/api/v1/nodes", json={"id": nid, "compound_id": cid}).json()["code"]
                enroll_node(node_app(str(tmp_path / nid)), hub_url, code)
                nport = _port()
                procs.append(spawn(nid, ["node", "run", "--data-dir", str(tmp_path / nid), "--port", str(nport)]))
                urls[nid], compound_of[nid] = f"http://127.0.0.1:{nport}", cid
        for nid, url in urls.items():
            assert _wait_up(url, procs[list(urls).index(nid) + 1], 60)
            _until(lambda: len(requests.get(url + "/api/v1/rows/residents", headers=AUTH).json()["rows"]) == 10, 60)
            desks.append(Desk(url, residents[compound_of[nid]], nid))
        t0 = time.monotonic()
        for d in desks:
            d.start()
        time.sleep(seconds)
        at_hub_during = _hub_events(hub_dir / "hub.db")
        load_s = time.monotonic() - t0
        for d in desks:
            d.stop.set()
        for d in desks:
            d.join(60)
        answered = {k: e for d in desks for k, e in d.answered.items()}
        assert not [d.errors for d in desks if d.errors]

        def status():
            return {nid: requests.get(u + "/api/v1/sync/status", headers=AUTH, timeout=30).json()
                    for nid, u in urls.items()}
        _until(lambda: all(s["pending"] == 0 for s in status().values()), 120)
        drained_s = time.monotonic() - t0 - load_s
        rounds = {nid: s["rounds"] for nid, s in status().items()}
        _until(lambda: all(s["rounds"] >= rounds[nid] + 2 for nid, s in status().items()), 120)
        final = status()
        assert not {nid: s["last_error"] for nid, s in final.items() if s.get("last_error")}
    finally:
        for d in desks:
            d.stop.set()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        for f in logs.values():
            f.close()
    hub_tally = assert_exactly_once(answered, _event_rows(hub_dir, "hub"), "hub")
    for d, nid in zip(desks, urls):  # each gate holds exactly its own compound's answered checks, once each
        own = {k: e for other, onid in zip(desks, urls) if compound_of[onid] == compound_of[nid]
               for k, e in other.answered.items()}
        assert_exactly_once(own, _event_rows(tmp_path / nid), nid)
    failures = {n: (tmp_path / f"{n}.log").read_text(errors="replace") for n in logs}
    bad = {n: t[-500:] for n, t in failures.items() if "Traceback" in t or "sync failed" in t or "unhandled" in t}
    assert not bad, bad
    lat = sorted(x for d in desks for x in d.latencies)
    figures = {"nodes": len(urls), "compounds": compounds, "load_seconds": round(load_s, 1),
               "checks_answered": len(answered), "checks_per_s": round(len(answered) / load_s, 1),
               "hub_events_merged_during_load": at_hub_during,
               "hub_changes_per_s": round(at_hub_during / load_s, 1), "drain_seconds_after_load": round(drained_s, 1),
               "check_latency_ms_p50": round(statistics.median(lat) * 1000, 1),
               "check_latency_ms_p95": round(lat[int(len(lat) * 0.95)] * 1000, 1),
               "sync_rounds": sum(s["rounds"] for s in final.values()),
               "errors": sum(len(d.errors) for d in desks), "lost": hub_tally["lost"],
               "duplicated": hub_tally["duplicated"]}
    print(json.dumps(figures))
    assert all(d.answered for d in desks)  # every gate kept working
    return figures


@pytest.mark.sqlite_only("its hub is a process on its own SQLite file")
def test_four_nodes_sync_at_once_while_the_gates_are_busy_keep_every_check_once(tmp_path):
    figures = load(tmp_path, compounds=2, gates=2, seconds=4)
    assert figures["checks_answered"] > 4 * 4 * 5  # at least 5 checks per gate per second


@pytest.mark.slow
def test_twenty_nodes_sync_at_once_while_the_gates_are_busy(tmp_path):
    figures = load(tmp_path, compounds=COMPOUNDS, gates=GATES, seconds=SECONDS)
    assert figures["checks_answered"] > 20 * SECONDS  # every gate kept working
