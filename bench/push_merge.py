"""Benchmark: push + merge of N changes from one node to the hub over HTTP on loopback.

Prints changes/s next to floors measured in the same run, with the SQLite hub's own settings (synchronous,
page cache, WAL autocheckpoint and the background checkpointer: bench/floors.py, printed with the figures):
sqlite3 executemany of the same rows the hub stores (gate events, resident rows, change-log
rows) into Menwei's own schema with all its indexes, committed per push batch — the ratio to it is
the one the target speaks of — and, for reference, of every change as one row of a bare log table.
Then times incremental pushes of 1,000 changes (the median, the first and the slowest of five).
The whole push runs twice, against a hub on SQLite and a hub on PostgreSQL (skipped, saying why,
when none is reachable), so both compare to one floor. The changes are made as a gate makes them
(make_changes): the app's time-ordered ids, events seconds apart, residents in 100 households.
Run: .venv/bin/python bench/push_merge.py [--pg-url URL]
"""
import argparse
import json
import os
import pickle
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta

import orjson
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from node import create_app as create_node  # noqa: E402
from node.cli import enroll_node  # noqa: E402
from sync.ids import new_id  # noqa: E402
from bench.floors import FloorDB, describe, role_settings  # noqa: E402


def make_changes(compound_id, n, mix, rng, start=datetime(2020, 2, 4, 6, 0), households=None):
    """Return n local writes [(table, id, data)]: gate events, new residents and edits to them.

    As a gate makes them: ids from the app's own generator, events a few seconds apart from ``start``,
    residents spread over ``households`` (default: 100 new ones, the first writes) and each event in
    its resident's household.
    """
    writes = []
    if households is None:
        households = [new_id() for _ in range(100)]
        writes = [("households", hh, {"compound_id": compound_id, "building_id": "b20", "room": f"{1701 + i}",
                                      "label": f"20-{1701 + i}"}) for i, hh in enumerate(households)]
    residents = []
    while len(writes) < n:
        kind = mix if mix != "mixed" else rng.choice(("event", "event", "resident", "edit"))
        if kind == "edit" and residents:
            writes.append(("residents", rng.choice(residents)[0], {"notes": f"备注{rng.randrange(10**6)}",
                                                                   "phone": f"139{rng.randrange(10**8):08d}"}))
        elif kind in ("resident", "edit"):
            rid, hh = new_id(), rng.choice(households)
            residents.append((rid, hh))
            writes.append(("residents", rid, {"compound_id": compound_id, "household_id": hh, "name": "张三丰",
                                              "gender": "男", "birth_date": "1980-05-01",
                                              "phone": "13812345678", "id_number": "360502198005011234",
                                              "party_member": False}))
        else:
            rid, hh = rng.choice(residents) if residents else (None, rng.choice(households))
            writes.append(("gate_events", new_id(), {
                "compound_id": compound_id, "gate": "east-gate", "direction": rng.choice(("in", "out")),
                "at": (start + timedelta(seconds=3 * len(writes))).isoformat(), "resident_id": rid,
                "household_id": hh, "decision": "allowed", "reasons": [], "temperature": 36.6,
                "operator": "志愿者"}))
    return writes[:n]


def sqlite_floor(rows, path, settings):
    """Time sqlite3 executemany of the change rows into a table shaped like the change log (the hub's settings)."""
    fdb = FloorDB(path, settings)
    fdb.con.execute("CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, origin VARCHAR(64) NOT NULL, "
                    "oseq BIGINT NOT NULL, hlc BIGINT NOT NULL, tbl VARCHAR(64) NOT NULL, row_id VARCHAR(64) NOT NULL, "
                    "scope VARCHAR(64), data TEXT NOT NULL, prev TEXT, UNIQUE (origin, oseq))")
    t0 = time.perf_counter()
    for i in range(0, len(rows), 5000):
        fdb.commit_batch({"INSERT INTO log (origin, oseq, hlc, tbl, row_id, scope, data, prev) "
                          "VALUES (?,?,?,?,?,?,?,?)": rows[i:i + 5000]})
    elapsed = time.perf_counter() - t0
    fdb.close()
    return elapsed


def destination_floor(changes, path, settings, batch):
    """Time sqlite3 executemany of the rows the hub stores for these changes, into Menwei's own schema.

    That is: gate events inserted into gate_events, resident writes upserted into residents (only
    the columns each change carries), and a change-log row for each change to a mutable table; in
    Menwei's DDL with every index it has (the dashboard's and the audit's too), committed every
    ``batch`` changes as the hub commits each push, with the hub's SQLite settings and background
    checkpointer; none of Menwei's checks or bookkeeping.
    """
    from sqlalchemy import create_engine
    from menwei.store.db import db
    db.metadata.create_all(create_engine(f"sqlite:///{path}"))
    fdb = FloorDB(path, settings)
    log_sql = ("INSERT INTO sync_log (seq, origin, oseq, hlc, tbl, row_id, scope, data, prev) "
               "VALUES (?,?,?,?,?,?,?,?,?)")
    batches = []
    for start in range(0, len(changes), batch):
        groups = {}
        for seq, ch in changes[start:start + batch]:
            data = ch["data"]
            if ch["table"] == "gate_events":
                cols = ("_seq", "id", "_origin", "_oseq", "_hlc") + tuple(data)
                vals = (seq, ch["id"], "east-gate", ch["seq"], ch["hlc"]) + tuple(
                    orjson.dumps(v).decode() if isinstance(v, list) else v for v in data.values())
                sql = f"INSERT INTO gate_events ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})"
            else:
                cols = ("id", "_deleted", "_v") + tuple(data)
                vals = (ch["id"], False, "{}") + tuple(data.values())
                sets = ", ".join(f"{c} = excluded.{c}" for c in cols[3:])
                sql = (f"INSERT INTO {ch['table']} ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))}) "
                       f"ON CONFLICT (id) DO UPDATE SET {sets}")
                groups.setdefault(log_sql, []).append(
                    (seq, "east-gate", ch["seq"], ch["hlc"], ch["table"], ch["id"], data.get("compound_id"),
                     orjson.dumps(data).decode(), orjson.dumps(ch["prev"]).decode() if ch.get("prev") else None))
            groups.setdefault(sql, []).append(vals)
        batches.append(groups)
    t0 = time.perf_counter()
    for groups in batches:
        fdb.commit_batch(groups)
    elapsed = time.perf_counter() - t0
    fdb.close()
    return elapsed


def wait_up(url, proc):
    """Wait until a hub answers HTTP, or fail if its process died."""
    for _ in range(150):
        if proc.poll() is not None:
            raise SystemExit("hub exited while starting")
        try:
            requests.get(url + "/api/v1/tables", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("hub did not start")


def pg_url(given):
    """A PostgreSQL URL to bench against: --pg-url, MENWEI_TEST_PG_URL, or this machine's test cluster."""
    if given:
        return given if given != "none" else None
    if os.environ.get("MENWEI_TEST_PG_URL"):
        return os.environ["MENWEI_TEST_PG_URL"]
    script = os.path.join(os.path.dirname(HERE), "scripts", "pg_test_db.sh")
    got = subprocess.run(["bash", script], capture_output=True, text=True)
    if got.returncode != 0:
        print(f"PostgreSQL hub SKIPPED: {got.stderr.strip().splitlines()[-1:] or 'no usable PostgreSQL'}")
        return None
    return got.stdout.strip()


def pg_schema(url, create):
    """Create (or drop) the benchmark's own schema in the PostgreSQL database; return the hub's URL for it."""
    from sqlalchemy import create_engine, text
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS menwei_bench CASCADE"))
        if create:
            conn.execute(text("CREATE SCHEMA menwei_bench"))
    eng.dispose()
    return url + ("&" if "?" in url else "?") + "options=-csearch_path%3Dmenwei_bench"


def bench_hub(hub_db, args, tmp, floor_input):
    """Seed a hub on ``hub_db``, push the changes from a fresh node over HTTP; return the timings."""
    rng = random.Random(7)
    os.makedirs(tmp, exist_ok=True)
    env = dict(os.environ, MENWEI_DATABASE_URL=hub_db)
    cli = [sys.executable, "-m", "menwei.cli"]
    out = subprocess.run(cli + ["hub", "seed-demo", "--data-dir", f"{tmp}/hub"], env=env, check=True,
                         capture_output=True, text=True).stdout
    compound_id = out.split()[1].rstrip(":")
    code = subprocess.run(cli + ["hub", "add-node", "east-gate", "--compound", compound_id, "--data-dir",
                                 f"{tmp}/hub"], env=env, check=True, capture_output=True, text=True).stdout
    code = code.split("enrolment code: ")[1].split()[0]
    hub = subprocess.Popen(os.environ.get("BENCH_HUB_PREFIX", "").split() + cli + [
        "hub", "run", "--data-dir", f"{tmp}/hub", "--port", str(args.port)], env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{args.port}"
    try:
        wait_up(url, hub)
        node = create_node(instance_path=f"{tmp}/node")
        enroll_node(node, url, code)
        rt = node.extensions["menwei"]
        client = rt.sync_client()
        client.pull()  # take in the seeded compound first, as a real gate would have
        writes = make_changes(compound_id, args.changes, args.mix, rng)
        for i in range(0, len(writes), 10_000):
            rt.replica.write(writes[i:i + 10_000])
        households = [i for t, i, _ in writes if t == "households"]
        del writes  # a gate holds none of this in memory: the push reads its outbox from the database
        assert client.pending() == args.changes
        t0 = time.perf_counter()
        pushed = client.push()
        push_s = time.perf_counter() - t0
        assert pushed == args.changes, (pushed, args.changes)
        incremental = []
        for k in range(args.incremental):  # a gate's next round of syncs: 1,000 new checks each
            rt.replica.write(make_changes(compound_id, 1000, "event", rng, datetime(2020, 2, 9 + k, 6, 0), households))
            t1 = time.perf_counter()
            assert client.push() == 1000
            incremental.append(time.perf_counter() - t1)
        if not os.path.exists(floor_input):  # the floors' rows, read back after the timing, kept on disk
            outbox = rt.replica.outbox(0, args.changes)
            with open(floor_input, "wb") as f:
                pickle.dump({"outbox": outbox, "batch": node.config["PUSH_BATCH"], "rows": [
                                 ("east-gate", ch["seq"], ch["hlc"], ch["table"], ch["id"], compound_id,
                                  orjson.dumps(ch["data"]).decode(),
                                  orjson.dumps(ch["prev"]).decode() if ch.get("prev") else None) for _, ch in outbox]}, f)
        return {"push_merge_s": round(push_s, 3), "changes_per_s": round(args.changes / push_s),
                "incremental_1000_s": round(statistics.median(incremental), 4),
                "incremental_1000_first_s": round(incremental[0], 4),
                "incremental_1000_max_s": round(max(incremental), 4)}
    finally:
        hub.terminate()
        hub.wait(10)


def main():
    """Run the benchmark against an SQLite hub and a PostgreSQL hub, then the floors, and print all figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=100_000, help="changes in the big push")
    ap.add_argument("--mix", default="mixed", choices=("mixed", "event", "resident", "edit"),
                    help="kind of changes")
    ap.add_argument("--incremental", type=int, default=5, help="incremental pushes of 1,000 changes to time")
    ap.add_argument("--port", type=int, default=18790, help="hub port")
    ap.add_argument("--pg-url", default=None,
                    help="PostgreSQL URL for the second hub (default: MENWEI_TEST_PG_URL, else this machine's "
                         "cluster via scripts/pg_test_db.sh); 'none' runs the SQLite hub only")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="menwei-bench-")
    floor_file = f"{tmp}/floor_input.pickle"
    results = {"sqlite": bench_hub(f"sqlite:///{tmp}/sqlite/hub.db", args, f"{tmp}/sqlite", floor_file)}
    pg = pg_url(args.pg_url)
    if pg:
        try:
            results["postgresql"] = bench_hub(pg_schema(pg, True), args, f"{tmp}/pg", floor_file)
        finally:
            pg_schema(pg, False)
    with open(floor_file, "rb") as f:
        floor_input = pickle.load(f)
    settings = role_settings("hub")  # the SQLite hub's own: the floors run as it does
    floor_s = sqlite_floor(floor_input["rows"], f"{tmp}/floor.db", settings)
    dest_s = destination_floor(floor_input["outbox"], f"{tmp}/floor2.db", settings, floor_input["batch"])
    floor_rate, dest_rate = args.changes / floor_s, args.changes / dest_s
    for r in results.values():
        r["ratio_to_floor"] = round(r["changes_per_s"] / floor_rate, 3)
        r["ratio_to_destination_floor"] = round(r["changes_per_s"] / dest_rate, 3)
    print(json.dumps({"changes": args.changes, "mix": args.mix, "hubs": results,
                      "floor_executemany_s": round(floor_s, 3), "floor_changes_per_s": round(floor_rate),
                      "floor_destination_tables_s": round(dest_s, 3),
                      "floor_destination_changes_per_s": round(dest_rate)}, indent=1))
    for name, r in results.items():
        print(f"{name} hub: push+merge {r['changes_per_s']:,} changes/s (target >= 30,000/s), ratio "
              f"{r['ratio_to_destination_floor']:.2f} to the same-rows floor (target >= 0.3; "
              f"{r['ratio_to_floor']:.2f} to the change-log-only floor); incremental 1,000: median "
              f"{r['incremental_1000_s'] * 1000:.1f} ms of {args.incremental} (target <= 50 ms), first "
              f"{r['incremental_1000_first_s'] * 1000:.1f} ms, slowest {r['incremental_1000_max_s'] * 1000:.1f} ms")
    print(f"floors' SQLite settings, the hub's own: {describe(settings)}")
    print(f"floors (sqlite3 executemany, same run): the same rows into Menwei's tables and change log "
          f"{dest_rate:,.0f}/s; every change as one change-log row {floor_rate:,.0f}/s")


if __name__ == "__main__":
    main()
