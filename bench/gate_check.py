"""Benchmark: gate-check latency over HTTP at a node holding 5,000 residents and 1,000,000 gate events.

Prints p50/p90/p99 of POST /api/v1/gate/checks next to two floors measured in the same run on the same
server: a GET of a trivial endpoint (HTTP, framework and session cost alone) and a POST writing one row
through the generic rows API (a handover note: the same session, CSRF check, one replicated write and its
change-log entry, committed with the node's own synchronous, as a check writes its event), and the node process's
resident memory after the run. The checks are made as a signed-in operator, as at the desk. Run: .venv/bin/python bench/gate_check.py [--events N]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from menwei.demo.data import generate_compound  # noqa: E402
from menwei.times import iso  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402
from node import create_app as create_node  # noqa: E402
from sync.ids import new_id  # noqa: E402

OPERATOR = ("bench-gate", "bench-password-门卫")


def rss_mb(pid):
    """Resident memory of a process in MB."""
    with open(f"/proc/{pid}/status") as fh:
        return int(fh.read().split("VmRSS:")[1].split()[0]) / 1024


def fill(data_dir, n_events, rng):
    """Create an offline node holding the demo compound topped up to 5,000 residents, and n gate events."""
    app = create_node(instance_path=data_dir)
    rt = app.extensions["menwei"]
    demo = generate_compound(2020)
    cid = demo["compound"]["id"]
    rt.save_enrolment("http://127.0.0.1:9", {"node_id": "east-gate", "compound_id": cid, "token": "offline",
                                             "hub_id": "hub"})
    rep = rt.replica
    writes = [("compounds", cid, {k: v for k, v in demo["compound"].items() if k != "id" and v})]
    for table, key in (("buildings", "buildings"), ("households", "households"), ("residents", "residents")):
        fields = rep.catalog[table].by_name
        writes += [(table, r["id"], {k: v for k, v in r.items() if k in fields and v not in ("", None)})
                   for r in demo[key]]
    households = demo["households"]
    extra = 5000 - len(demo["residents"])
    for i in range(extra):  # top up to 5,000 residents
        hh = rng.choice(households)
        writes.append(("residents", new_id(), {"compound_id": cid, "household_id": hh["id"],
                                                        "name": f"住户{i}"}))
    writes.append(("control_rules", new_id(), {"compound_id": cid, "effective_from": "2020-01-01T00:00:00Z",
                                                        "level": "closed"}))
    rep.write(writes)
    # The volunteer the checks are made as, signed in like one at the desk. Accounts are made at the hub
    # only (sync.policy refuses them as a node's own write): it arrives as the hub's change, as a sync brings it.
    account = {"compound_id": cid, "username": OPERATOR[0], "role": "operator", "active": True,
               "password_hash": generate_password_hash(OPERATOR[1])}
    rep.apply_remote([{"origin": "hub", "seq": 1, "hlc": rep.clock.now(), "table": "accounts", "id": new_id(),
                       "data": account}], origin="hub")
    residents = [r for r in demo["residents"]]
    start = time.time() * 1000 - 30 * 86_400_000
    t0 = time.perf_counter()
    for b in range(0, n_events, 20_000):
        batch = []
        for i in range(b, min(b + 20_000, n_events)):
            r = residents[i % len(residents)]
            batch.append(("gate_events", new_id(), {
                "compound_id": cid, "gate": "east-gate", "direction": "out" if i % 2 else "in",
                "at": iso(start + i * 2500), "resident_id": r["id"], "household_id": r["household_id"],
                "purpose": "outing" if i % 2 else "return", "decision": "allowed", "reasons": [],
                "temperature": 36.5, "person_name": r["name"]}))
        rep.write(batch, create=True)
    print(f"filled {n_events:,} events in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    # Leave the node as one that has been running a while: its WAL copied back, this process's engine
    # (and its checkpoint thread) gone, not still copying a million events' pages while checks are timed.
    rt.store.checkpointer = None
    with rt.store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    rt.store.engine.dispose()
    return residents, households


def percentiles(xs):
    xs = sorted(xs)
    return {p: round(xs[min(len(xs) - 1, int(len(xs) * p / 100))] * 1000, 2) for p in (50, 90, 99)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="gate events already at the node")
    ap.add_argument("--checks", type=int, default=2000, help="gate checks to time")
    ap.add_argument("--port", type=int, default=18791, help="node port")
    args = ap.parse_args()
    rng = random.Random(11)
    data_dir = tempfile.mkdtemp(prefix="menwei-gate-bench-")
    residents, households = fill(data_dir, args.events, rng)
    node = subprocess.Popen([sys.executable, "-m", "menwei.cli", "node", "run", "--data-dir", data_dir,
                             "--port", str(args.port), "--no-sync"], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(200):
            try:
                requests.get(url + "/api/v1/tables", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        s = requests.Session()
        login = s.post(url + "/api/v1/auth/login", json=dict(zip(("username", "password"), OPERATOR)))
        login.raise_for_status()
        s.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        floor, floor_write, checks, by_room = [], [], [], []
        post_id = new_id()
        for i in range(args.checks):
            t = time.perf_counter()
            s.get(url + "/api/v1/tables").raise_for_status()
            floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            got = s.post(url + "/api/v1/rows/handovers", json={"post_id": post_id, "note": f"floor {i}",
                                                                 "written_at": iso(time.time() * 1000)})
            floor_write.append(time.perf_counter() - t)
            assert got.status_code == 201, got.text
            r = rng.choice(residents)
            body = {"resident_id": r["id"], "direction": rng.choice(("in", "out")),
                    "temperature": round(rng.uniform(35.8, 37.6), 1)}
            t = time.perf_counter()
            resp = s.post(url + "/api/v1/gate/checks", json=body)
            checks.append(time.perf_counter() - t)
            assert resp.status_code == 201, resp.text
            if i % 4 == 0:
                hh = rng.choice(households)
                t = time.perf_counter()
                s.post(url + "/api/v1/gate/checks", json={"room": hh["label"], "direction": "out",
                                                          "temperature": 36.4}).raise_for_status()
                by_room.append(time.perf_counter() - t)
        out = {"events": args.events, "residents": 5000, "checks": args.checks,
               "gate_check_ms": percentiles(checks), "gate_check_by_room_ms": percentiles(by_room),
               "floor_get_tables_ms": percentiles(floor), "floor_write_one_row_ms": percentiles(floor_write),
               "node_rss_mb": round(rss_mb(node.pid), 1)}
        print(json.dumps(out, indent=1))
        print(f"gate check p50 {out['gate_check_ms'][50]} ms, p99 {out['gate_check_ms'][99]} ms (target <= 10 ms); "
              f"floors: GET p50 {out['floor_get_tables_ms'][50]} / p99 {out['floor_get_tables_ms'][99]} ms, one-row "
              f"write p50 {out['floor_write_one_row_ms'][50]} / p99 {out['floor_write_one_row_ms'][99]} ms; node RSS {out['node_rss_mb']} MB (target <= 80 MB)")
    finally:
        node.terminate()
        node.wait(10)


if __name__ == "__main__":
    main()
