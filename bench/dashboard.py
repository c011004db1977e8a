"""Benchmark: the dashboard's figures at a hub holding the demo compound and N generated gate events.

Times GET /api/v1/dashboard (every figure, JSON included) for a day, a week and a month, for one gate
and one building, and the audit trail's first page, next to a floor measured in the same run: a bare
COUNT(*) over the same period's events through the same index (the least any figure can cost).
Run: .venv/bin/python bench/dashboard.py [--events N] [--hub-db URL]
"""
import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hub import create_app as create_hub  # noqa: E402
from menwei.times import iso  # noqa: E402
from menwei.demo.seed import seed_demo  # noqa: E402
from sync.ids import new_id  # noqa: E402

TOKEN = "bench-token"
END_MS = 1_583_020_800_000 - 1  # 29 February 2020, 23:59:59.999 in Shanghai
GATES = (("east-gate", 0.5), ("west-gate", 0.3), ("building-20", 0.2))


def _event(rng, cid, resident, state, at_ms, b20):
    """One crossing: mostly residents going out and back, some visitors and cars, a few refusals."""
    temp = round(rng.gauss(36.5, 0.3), 1)
    kind = rng.random()
    gate = rng.choices([g for g, _ in GATES], [w for _, w in GATES])[0]
    ev = {"compound_id": cid, "gate": gate, "at": iso(at_ms), "temperature": temp, "operator": "志愿者"}
    reasons = [{"code": "fever", "message": f"体温 {temp}"}] if temp >= 37.3 else []
    if kind < 0.8:
        rid, hid, building = resident
        direction = "in" if state.get(rid) == "out" else "out"
        if direction == "out" and building == b20:
            reasons.append({"code": "quarantined_building", "message": "隔离"})
        elif direction == "out" and rng.random() < 0.08:
            reasons.append({"code": "quota_used", "message": "本户已外出"})
        ev.update(resident_id=rid, household_id=hid, direction=direction,
                  purpose="outing" if direction == "out" else "return")
        if not reasons:
            state[rid] = direction
    elif kind < 0.9:
        ev.update(direction=rng.choice(("in", "out")), purpose="visitor", person_name="快递员")
        if rng.random() < 0.5:
            reasons.append({"code": "unknown_person", "message": "非本小区人员"})
    else:
        rid, hid, _ = resident
        ev.update(household_id=hid, direction=rng.choice(("in", "out")), purpose="vehicle")
        if ev["direction"] == "in":
            reasons.append({"code": "vehicle_exit_only", "message": "车辆只出不进"})
    ev["decision"] = "denied" if reasons else "allowed"
    ev["reasons"] = reasons
    return ev


def fill(app, n_events, rng):
    """Seed the demo compound and write n events over February 2020 straight into the store."""
    rt = app.extensions["menwei"]
    with app.app_context():
        cid, _ = seed_demo(rt.replica)
    with rt.store.read() as tx:
        residents = [tuple(r) for r in tx.rows("SELECT r.id, r.household_id, h.building_id FROM residents r "
                                                "JOIN households h ON h.id = r.household_id")]
        b20 = tx.rows("SELECT id FROM buildings WHERE number = '20'")[0][0]
    start, state = END_MS - 29 * 86_400_000, {}
    t0 = time.perf_counter()
    for b in range(0, n_events, 50_000):
        chunk = []
        for i in range(b, min(b + 50_000, n_events)):
            at = start + i * (END_MS - start) // n_events
            data = _event(rng, cid, rng.choice(residents), state, at, b20)
            chunk.append({"id": new_id(), "data": {k: v for k, v in data.items() if v is not None},
                          "origin": data["gate"], "seq": i + 1, "hlc": at << 16})
        with rt.store.write() as tx:
            first = tx.take_seqs(len(chunk))
            for j, ch in enumerate(chunk):
                ch["lseq"] = first + j
            tx.insert_appended("gate_events", chunk)
    print(f"filled {n_events:,} events in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return cid, b20


def timed(fn, repeat):
    """Median wall and CPU time of ``repeat`` runs, in ms (after one warm-up run).

    The app runs in this process, so its CPU time is what the figures cost on a machine that is not
    busy with anything else (wall time also counts waiting for a shared CPU).
    """
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {"wall": round(statistics.median(wall), 1), "cpu": round(statistics.median(cpu), 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="gate events to generate")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each query")
    ap.add_argument("--hub-db", default=None, help="hub DATABASE_URL (default: SQLite in a temp dir)")
    args = ap.parse_args()
    data_dir = tempfile.mkdtemp(prefix="menwei-dash-bench-")
    url = args.hub_db or f"sqlite:///{data_dir}/hub.db"
    app = create_hub({"DATABASE_URL": url, "ADMIN_TOKEN": TOKEN, "CLOCK": lambda: END_MS,
                      "SQLITE_SYNCHRONOUS": "NORMAL"}, instance_path=data_dir)
    cid, b20 = fill(app, args.events, random.Random(5))
    rt = app.extensions["menwei"]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    periods = {"day": "2020-02-29", "week": "2020-02-23", "month": "2020-02-01"}
    out = {"events": args.events, "database": "postgresql" if rt.store.pg else "sqlite", "ms": {}}

    def floor(since):
        def run():
            with rt.store.read() as tx:
                return tx.rows("SELECT COUNT(*) FROM gate_events WHERE compound_id = ? AND at >= ? AND at <= ?",
                               (cid, since + "T00:00:00", "2020-03-01"))[0][0]
        return run

    def dash(query):
        def run():
            r = client.get("/api/v1/dashboard?" + query, headers=headers)
            assert r.status_code == 200, r.get_data(as_text=True)[:300]
            return r
        return run

    for name, since in periods.items():
        rows = floor(since)()
        out["ms"][f"{name} ({rows:,} events): floor COUNT(*)"] = timed(floor(since), args.repeat)
        out["ms"][f"{name}: dashboard"] = timed(dash(f"from={since}&to=2020-02-29"), args.repeat)
    out["ms"]["week, one gate"] = timed(dash("from=2020-02-23&to=2020-02-29&gate=east-gate"), args.repeat)
    out["ms"]["week, one building"] = timed(dash(f"from=2020-02-23&to=2020-02-29&building_id={b20}"), args.repeat)
    out["ms"]["audit, first page"] = timed(dash_audit(client, headers, ""), args.repeat)
    out["ms"]["audit, gate events of one day"] = timed(
        dash_audit(client, headers, "table=gate_events&from=2020-02-10&to=2020-02-10"), args.repeat)
    totals = client.get("/api/v1/dashboard?from=2020-02-01&to=2020-02-29", headers=headers).get_json()["totals"]
    out["month_totals"] = totals
    print(json.dumps(out, indent=1, ensure_ascii=False))


def dash_audit(client, headers, query):
    """A timed call of the audit trail's API."""
    def run():
        r = client.get("/api/v1/audit?" + query, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return run


if __name__ == "__main__":
    main()
