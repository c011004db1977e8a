"""Benchmark: a new gate node bootstrapping a compound of 4,500 residents and 1,000,000 gate events of history.

The hub (SQLite, served over HTTP on loopback) holds the demo compound and the events, pushed by
four gates. `menwei node enroll` runs as its own process and takes the compound in as a snapshot;
its wall time and peak resident memory are printed next to two baselines measured in the same run:
a node replaying the whole history by pull (what enrolment did before), and a floor, sqlite3
executemany copying the same rows from the hub's file into an empty database of Menwei's schema with a
node's own SQLite settings (bench/floors.py; no HTTP, no JSON, no checks).
Run: .venv/bin/python bench/bootstrap.py [--events N]
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench.floors import FloorDB, describe, role_settings  # noqa: E402
from bench.push_merge import wait_up  # noqa: E402
from hub import create_app as create_hub  # noqa: E402
from menwei.demo.seed import seed_demo  # noqa: E402
from sync.clock import pack  # noqa: E402
from sync.ids import new_id  # noqa: E402

CLI = [sys.executable, "-m", "menwei.cli"]
GATES = ("east-gate", "west-gate", "north-gate", "car-gate")


def fill_hub(data_dir, n_events):
    """Seed the demo compound at the hub and merge n gate events from four gates as their pushes would."""
    app = create_hub(instance_path=data_dir)
    rep = app.extensions["menwei"].replica
    cid, _ = seed_demo(rep)
    with rep.store.read() as tx:
        residents = tx.rows("SELECT id, household_id, name FROM residents")
    start = int(time.time() * 1000) - 30 * 86_400_000
    t0 = time.perf_counter()
    seqs = dict.fromkeys(GATES, 0)
    for b in range(0, n_events, 20_000):
        gate = GATES[(b // 20_000) % len(GATES)]
        batch = []
        for i in range(b, min(b + 20_000, n_events)):
            rid, hh, name = residents[i % len(residents)]
            seqs[gate] += 1
            batch.append({"seq": seqs[gate], "hlc": pack(start + i * 2500), "table": "gate_events",
                          "id": new_id(), "data": {
                              "compound_id": cid, "gate": gate, "direction": "out" if i % 2 else "in",
                              "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((start + i * 2500) / 1000)),
                              "resident_id": rid, "household_id": hh, "purpose": "outing" if i % 2 else "return",
                              "decision": "allowed", "reasons": [], "temperature": 36.5, "person_name": name}})
        rep.apply_remote(batch, origin=gate)
    print(f"hub filled with {n_events:,} events in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return cid, len(residents)


# The child reports its own peak (VmHWM belongs to its address space and starts afresh at exec), since
# getrusage's ru_maxrss carries over the forking parent's peak, which here holds a million events.
_PEAK = ("import atexit, os, sys\n"
         "def _peak():\n"
         "    hwm = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
         "    open(os.environ['BENCH_PEAK_FILE'], 'w').write(hwm)\n"
         "atexit.register(_peak)\n"
         "sys.argv = ['menwei'] + sys.argv[1:]\n"
         "from menwei.cli import main\n"
         "main()\n")


def run_measured(args, env, tmp):
    """Run `menwei ARGS` to completion; return (seconds, its peak RSS in MB, its output)."""
    peak_file = f"{tmp}/peak-{time.monotonic_ns()}"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PEAK, *args], env=dict(env, BENCH_PEAK_FILE=peak_file),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"menwei {' '.join(args[:2])} failed:\n{proc.stdout}")
    with open(peak_file) as fh:
        return elapsed, int(fh.read()) / 1024, proc.stdout


def copy_floor(hub_db, path, settings):
    """Time sqlite3 copying the compound's rows from the hub's file into an empty database of Menwei's schema,
    set up as a node's (``settings``: synchronous, page cache, WAL thresholds, background checkpointer)."""
    from sqlalchemy import create_engine
    from menwei.tables import CATALOG
    from sync.sql_store import build_metadata
    build_metadata(CATALOG).create_all(create_engine(f"sqlite:///{path}"))
    src = sqlite3.connect(hub_db)
    dst = FloorDB(path, settings)
    t0 = time.perf_counter()
    n = 0
    for t in CATALOG:
        cols = [r[1] for r in src.execute(f"PRAGMA table_info({t.name})")]
        cur = src.execute(f"SELECT {', '.join(cols)} FROM {t.name}")
        sql = f"INSERT INTO {t.name} ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})"
        while rows := cur.fetchmany(20_000):
            dst.commit_batch({sql: rows})
            n += len(rows)
    elapsed = time.perf_counter() - t0
    dst.close()
    return elapsed, n


def enrol_code(hub_dir, env, node_id, cid):
    """Register a node at the hub and return its enrolment code."""
    out = subprocess.run(CLI + ["hub", "add-node", node_id, "--compound", cid, "--data-dir", hub_dir], env=env,
                         check=True, capture_output=True, text=True).stdout
    return out.split("enrolment code: ")[1].split()[0]


def main():
    """Fill a hub, then time a snapshot bootstrap, a full replay and the copy floor; print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="gate events of history at the hub")
    ap.add_argument("--port", type=int, default=18792, help="hub port")
    ap.add_argument("--no-replay", action="store_true", help="skip the full-replay baseline (it is the slow part)")
    ap.add_argument("--page", type=int, default=None, help="rows per snapshot page and pull (default: PULL_LIMIT)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="menwei-bootstrap-bench-")
    hub_dir = f"{tmp}/hub"
    cid, n_residents = fill_hub(hub_dir, args.events)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENWEI_")}
    if args.page:
        env["MENWEI_PULL_LIMIT"] = str(args.page)
    hub = subprocess.Popen(CLI + ["hub", "run", "--data-dir", hub_dir, "--port", str(args.port)], env=env,
                           stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{args.port}"
    try:
        wait_up(url, hub)
        code = enrol_code(hub_dir, env, "new-gate", cid)
        snap_s, snap_rss, out = run_measured(["node", "enroll", "--hub", url, "--code", code,
                                              "--data-dir", f"{tmp}/snap"], env, tmp)
        print(out.strip(), file=sys.stderr)
        result = {"residents": n_residents, "events": args.events, "snapshot_bootstrap_s": round(snap_s, 2),
                  "snapshot_node_peak_rss_mb": round(snap_rss, 1)}
        if not args.no_replay:
            code = enrol_code(hub_dir, env, "replay-gate", cid)
            from node import create_app as create_node
            from node.cli import enroll_node
            enroll_node(create_node(instance_path=f"{tmp}/replay"), url, code)  # no snapshot: sync replays
            replay_s, replay_rss, _ = run_measured(["node", "sync", "--once", "--data-dir", f"{tmp}/replay"], env, tmp)
            result.update(replay_s=round(replay_s, 2), replay_node_peak_rss_mb=round(replay_rss, 1))
    finally:
        hub.terminate()
        hub.wait(10)
    settings = role_settings("node")  # the bootstrapping node's own
    floor_s, floor_rows = copy_floor(f"{hub_dir}/hub.db", f"{tmp}/floor.db", settings)
    result.update(floor_sqlite_copy_s=round(floor_s, 2), floor_rows=floor_rows, floor_settings=settings,
                  ratio_to_floor=round(snap_s / floor_s, 2))
    print(json.dumps(result, indent=1))
    line = (f"bootstrap by snapshot: {snap_s:.1f}s, node peak RSS {snap_rss:.0f} MB (target <= 80 MB); "
            f"floor (sqlite3 copy of the same rows, a node's settings: {describe(settings)}) {floor_s:.1f}s, "
            f"x{snap_s / floor_s:.1f}")
    if "replay_s" in result:
        line += f"; full replay by pull {result['replay_s']:.1f}s, peak RSS {result['replay_node_peak_rss_mb']:.0f} MB"
    print(line)


if __name__ == "__main__":
    main()
