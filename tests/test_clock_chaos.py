"""Clock chaos: gate laptops from a day behind to an hour ahead, and one whose clock jumps mid-run.

Every node records gate checks and edits shared rows while syncing. Throughout, the hub never stores
a stamp further ahead of its own clock than the skew bound (a far-future stamp cannot win); each
wrong clock raises the skew alarm in GET /api/v1/sync/status; once the clocks are set right every
replica converges, with every answered gate check present exactly once.
"""
import json
import random

import pytest

from conftest import Cluster
from sync.clock import physical_ms
from sync.http_client import SyncFailed

HOUR, DAY = 3_600_000, 86_400_000
#: Node → clock offset from the hub's. "jumper" starts right and is moved during the run.
OFFSETS = {"day-behind": -DAY, "hour-behind": -HOUR, "slow": -120_000, "fast": 120_000, "hour-ahead": HOUR,
           "jumper": 0}


def _seed(c):
    hub = c.hub
    hh = hub.api("POST", "/rows/households", json={"compound_id": c.compound_id, "building_id": "b20",
                                                   "room": "1702", "label": "20-1702"}).get_json()["id"]
    residents = [hub.api("POST", "/rows/residents", json={"compound_id": c.compound_id, "household_id": hh,
                                                          "name": f"居民{i}"}).get_json()["id"] for i in range(4)]
    for n in c.nodes.values():
        n.sync()
    return residents


def _hub_is_sane(c, bound):
    """No stamp at the hub lies further ahead of the hub's clock than the bound."""
    with c.hub.rt.store.read() as tx:
        newest = physical_ms(tx.max_hlc())
    assert newest <= c.hub.clock() + bound, f"hub holds a stamp {(newest - c.hub.clock()) / 1000:.0f} s ahead"


def _alarms(c):
    return {nid: n.api("GET", "/sync/status").get_json() for nid, n in c.nodes.items()}


def chaos(tmp_path, seed, rounds, jumps):
    """Run the chaos for ``rounds`` rounds, moving the jumper's clock by ``jumps`` {round: ms}; return figures."""
    c = Cluster(tmp_path, node_ids=tuple(OFFSETS), offsets_ms=OFFSETS)
    rng = random.Random(seed)
    bound = c.hub.app.config["SKEW_BOUND_S"] * 1000
    try:
        residents = _seed(c)
        answered, edits, refused, ever_ahead = {}, 0, 0, {n for n, off in OFFSETS.items() if off > bound}
        peak = max(OFFSETS.values())  # the furthest ahead any clock stood: its stamps wait that long
        for r in range(rounds):
            c.base.advance(rng.randrange(1_000, 30_000))
            if r in jumps:
                c.nodes["jumper"].clock.jump(jumps[r])
                peak = max(peak, c.nodes["jumper"].clock.offset_ms)
                if c.nodes["jumper"].clock.offset_ms > bound:
                    ever_ahead.add("jumper")
            for nid in rng.sample(list(c.nodes), len(c.nodes)):
                node = c.nodes[nid]
                got = node.api("POST", "/gate/checks", json={"resident_id": rng.choice(residents), "temperature": 36.6,
                                                             "direction": rng.choice(("in", "out"))})
                assert got.status_code == 201, got.get_json()
                answered[got.get_json()["event_id"]] = nid
                node.api("PATCH", f"/rows/residents/{rng.choice(residents)}", json={"notes": f"{nid} round {r}"})
                edits += 1
                try:
                    node.sync()
                except SyncFailed as e:
                    assert e.code == "clock_skew" and nid in ever_ahead, (nid, e.code, str(e))
                    refused += 1
                _hub_is_sane(c, bound)
        # While the clocks are wrong: far clocks are alarmed, near ones are not, and nothing from the
        # clock an hour ahead has reached the hub.
        status = _alarms(c)
        for nid, st in status.items():
            wrong = abs(c.nodes[nid].clock.offset_ms) > bound
            queued = nid in ever_ahead and st["last_error_code"] == "clock_skew"  # stamps from when it was ahead
            assert st["skew_alarm"] is (wrong or queued), (nid, st)
        assert status["hour-ahead"]["last_error_code"] == "clock_skew" and status["hour-ahead"]["pending"] > 0
        assert not any(v[-2] and v[-2].startswith("hour-ahead") for v in c.hub.table("residents").values())
        assert "hour-ahead" not in {answered[e] for e in c.hub.table("gate_events")}
        hub_view = {n["id"]: n for n in c.hub.api("GET", "/nodes").get_json()["nodes"]}
        assert hub_view["day-behind"]["skew_ms"] == pytest.approx(-DAY, abs=60_000)
        # Someone sets every clock right; once the hub's time passes the queued stamps they are taken.
        for n in c.nodes.values():
            n.clock.offset_ms = 0
        c.base.advance(peak)
        c.sync_all(rounds=2)
        _hub_is_sane(c, bound)
        for table in ("residents", "gate_events", "incidents"):
            want = c.hub.table(table)
            for nid, n in c.nodes.items():
                assert n.table(table) == want, f"{nid} differs from the hub in {table}"
        events = c.hub.table("gate_events")
        assert set(events) == set(answered) and len(events) == len(answered)  # none lost, none twice
        with c.hub.rt.store.read() as tx:
            assert tx.rows("SELECT COUNT(*), COUNT(DISTINCT id) FROM gate_events")[0] == (len(answered),) * 2
        stamps = [ch["hlc"] for _, ch in c.nodes["jumper"].replica.outbox(0, 100_000)]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # monotone through every jump
        after = _alarms(c)
        assert not any(st["skew_alarm"] for st in after.values()) and not any(st["pending"] for st in after.values())
        figures = {"seed": seed, "rounds": rounds, "nodes": len(c.nodes), "clock_jumps": len(jumps),
                   "gate_events": len(answered), "edits": edits, "pushes_refused_for_skew": refused,
                   "alarms_raised": sum(st["skew_alarm"] for st in status.values()), "lost": 0, "duplicated": 0}
        print(json.dumps(figures))
        return figures
    finally:
        c.close()


def test_clock_chaos_converges_alarms_and_lets_no_future_stamp_win(tmp_path):
    figures = chaos(tmp_path, seed=2020, rounds=12, jumps={6: -2 * HOUR})
    assert figures["pushes_refused_for_skew"] >= 12 and figures["alarms_raised"] == 4


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_long_clock_chaos_with_jumps_both_ways(tmp_path, seed):
    rng = random.Random(seed)
    moves = (-3 * HOUR, -2 * HOUR, -10 * 60_000, 2 * 60_000, 20 * 60_000)
    jumps = {r: rng.choice(moves) for r in rng.sample(range(60), 6)}
    figures = chaos(tmp_path, seed=seed, rounds=60, jumps=jumps)
    assert figures["gate_events"] == 60 * len(OFFSETS)
