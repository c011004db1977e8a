"""Benchmark: push + merge of N changes from one node to the hub over HTTP on loopback.

Prints changes/s next to a floor measured in the same run: sqlite3 executemany of the same change
rows into a table of the same shape, with the same journal and durability settings, and the ratio.
Then times an incremental push of 1,000 changes. Run: .venv/bin/python bench/push_merge.py
"""
import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

import orjson
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from node import create_app as create_node  # noqa: E402
from node.cli import enroll_node  # noqa: E402


def make_changes(compound_id, n, mix, rng):
    """Return n local writes [(table, id, data)]: gate events, new residents and edits to them."""
    writes, residents = [], []
    hh = str(uuid.uuid4())
    writes.append(("households", hh, {"compound_id": compound_id, "building_id": "b20", "room": "1702",
                                       "label": "20-1702"}))
    while len(writes) < n:
        kind = mix if mix != "mixed" else rng.choice(("event", "event", "resident", "edit"))
        if kind == "edit" and residents:
            writes.append(("residents", rng.choice(residents), {"notes": f"备注{rng.randrange(10**6)}",
                                                                "phone": f"139{rng.randrange(10**8):08d}"}))
        elif kind in ("resident", "edit"):
            rid = str(uuid.uuid4())
            residents.append(rid)
            writes.append(("residents", rid, {"compound_id": compound_id, "household_id": hh, "name": "张三丰",
                                              "gender": "男", "birth_date": "1980-05-01",
                                              "phone": "13812345678", "id_number": "360502198005011234",
                                              "party_member": False}))
        else:
            writes.append(("gate_events", str(uuid.uuid4()), {
                "compound_id": compound_id, "gate": "east-gate", "direction": rng.choice(("in", "out")),
                "at": "2020-02-04T08:30:00", "resident_id": rng.choice(residents) if residents else None,
                "household_id": hh, "decision": "allowed", "reasons": [], "temperature": 36.6,
                "operator": "志愿者"}))
    return writes


def sqlite_floor(rows, path, synchronous):
    """Time sqlite3 executemany of the change rows into a table shaped like the change log."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA synchronous={synchronous}")
    con.execute("CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, origin VARCHAR(64) NOT NULL, "
                "oseq BIGINT NOT NULL, hlc BIGINT NOT NULL, tbl VARCHAR(64) NOT NULL, row_id VARCHAR(64) NOT NULL, "
                "scope VARCHAR(64), data TEXT NOT NULL, prev TEXT, UNIQUE (origin, oseq))")
    t0 = time.perf_counter()
    for i in range(0, len(rows), 5000):
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO log (origin, oseq, hlc, tbl, row_id, scope, data, prev) "
                        "VALUES (?,?,?,?,?,?,?,?)", rows[i:i + 5000])
        con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def destination_floor(changes, path, synchronous):
    """Time sqlite3 executemany of the same changes straight into tables of Menwei's own schema.

    Gate events are inserted into gate_events, resident writes upserted into residents (only the
    columns each change carries), with Menwei's DDL and indexes but none of its checks or bookkeeping.
    """
    from sqlalchemy import create_engine
    from sync.sql_store import build_metadata
    from menwei.tables import CATALOG
    build_metadata(CATALOG).create_all(create_engine(f"sqlite:///{path}"))
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA synchronous={synchronous}")
    groups = {}
    for seq, ch in changes:
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
        groups.setdefault(sql, []).append(vals)
    t0 = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    for sql, rows in groups.items():
        con.executemany(sql, rows)
    con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def wait_up(url, proc):
    for _ in range(150):
        if proc.poll() is not None:
            raise SystemExit("hub exited while starting")
        try:
            requests.get(url + "/api/v1/tables", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("hub did not start")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=100_000, help="changes in the big push")
    ap.add_argument("--mix", default="mixed", choices=("mixed", "event", "resident", "edit"),
                    help="kind of changes")
    ap.add_argument("--port", type=int, default=18790, help="hub port")
    ap.add_argument("--hub-db", default=None, help="hub DATABASE_URL (default: SQLite in a temp dir)")
    args = ap.parse_args()
    rng = random.Random(7)
    tmp = tempfile.mkdtemp(prefix="menwei-bench-")
    env = dict(os.environ, MENWEI_DATABASE_URL=args.hub_db or f"sqlite:///{tmp}/hub.db")
    cli = [sys.executable, "-m", "menwei.cli"]
    out = subprocess.run(cli + ["hub", "seed-demo", "--data-dir", f"{tmp}/hub"], env=env, check=True,
                         capture_output=True, text=True).stdout
    compound_id = out.split()[1].rstrip(":")
    code = subprocess.run(cli + ["hub", "add-node", "east-gate", "--compound", compound_id, "--data-dir",
                                 f"{tmp}/hub"], env=env, check=True, capture_output=True, text=True).stdout
    code = code.split("enrolment code: ")[1].split()[0]
    hub = subprocess.Popen(os.environ.get("BENCH_HUB_PREFIX", "").split() + cli + ["hub", "run", "--data-dir", f"{tmp}/hub", "--port", str(args.port)], env=env,
                           stdout=subprocess.DEVNULL)
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
        # The floor's rows: every change as one change-log row, exactly as the node will send it.
        log_rows = [("east-gate", ch["seq"], ch["hlc"], ch["table"], ch["id"], compound_id,
                     orjson.dumps(ch["data"]).decode(), orjson.dumps(ch["prev"]).decode() if ch.get("prev") else None)
                    for _, ch in rt.replica.outbox(0, args.changes + 10)]
        assert len(log_rows) == args.changes
        t0 = time.perf_counter()
        pushed = client.push()
        push_s = time.perf_counter() - t0
        assert pushed == args.changes, (pushed, args.changes)
        floor_s = sqlite_floor(log_rows, f"{tmp}/floor.db", node.config["SQLITE_SYNCHRONOUS"])
        dest_s = destination_floor(rt.replica.outbox(0, args.changes + 10), f"{tmp}/floor2.db",
                                   node.config["SQLITE_SYNCHRONOUS"])

        more = make_changes(compound_id, 1000, "event", rng)
        rt.replica.write(more)
        t1 = time.perf_counter()
        assert client.push() == 1000
        inc_s = time.perf_counter() - t1

        rate, floor_rate, dest_rate = args.changes / push_s, args.changes / floor_s, args.changes / dest_s
        print(json.dumps({"changes": args.changes, "mix": args.mix, "hub_db": env["MENWEI_DATABASE_URL"].split(":")[0],
                          "push_merge_s": round(push_s, 3), "changes_per_s": round(rate),
                          "floor_executemany_s": round(floor_s, 3), "floor_changes_per_s": round(floor_rate),
                          "ratio_to_floor": round(rate / floor_rate, 3),
                          "floor_destination_tables_s": round(dest_s, 3),
                          "floor_destination_changes_per_s": round(dest_rate),
                          "ratio_to_destination_floor": round(rate / dest_rate, 3),
                          "incremental_1000_s": round(inc_s, 4)}, indent=1))
        print(f"push+merge {rate:,.0f} changes/s (target >= 30,000/s); sqlite3 executemany floors: "
              f"change-log table {floor_rate:,.0f}/s (ratio {rate / floor_rate:.2f}), Menwei's destination "
              f"tables {dest_rate:,.0f}/s (ratio {rate / dest_rate:.2f}); target ratio >= 0.3; "
              f"incremental 1,000 in {inc_s * 1000:.1f} ms (target <= 50 ms)")
    finally:
        hub.terminate()
        hub.wait(10)


if __name__ == "__main__":
    main()
