"""`menwei demo` (what the README's first command runs): seeded, syncing, and stopped cleanly."""
import os
import signal
import socket
import subprocess
import sys
import time

import requests


def _free_base_port():
    for base in range(20_000, 60_000, 37):
        ok = True
        for p in (base, base + 1, base + 2):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", p)) == 0:
                    ok = False
        if ok:
            return base
    raise RuntimeError("no free ports")


def _signed_in(base_url, username):
    """A session signed in at ``base_url`` with a demo account (accounts reach nodes by sync)."""
    s = requests.Session()
    for _ in range(100):
        r = s.post(base_url + "/api/v1/auth/login", json={"username": username, "password": "menwei-demo"},
                   timeout=5)
        if r.status_code == 200:
            return s
        time.sleep(0.2)  # the account has not synced down yet
    raise AssertionError(f"cannot sign in at {base_url}: {r.status_code} {r.text}")


def test_demo_starts_a_seeded_hub_and_two_syncing_nodes_and_stops_on_ctrl_c(tmp_path):
    base = _free_base_port()
    proc = subprocess.Popen([sys.executable, "-m", "menwei.cli", "demo", "--base-port", str(base),
                             "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=dict(os.environ, MENWEI_SYNC_INTERVAL_S="1"),
                            start_new_session=True)  # its own process group: a failed test kills the servers too
    lines = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("  data ") or proc.poll() is not None:
                break
        out = "".join(lines)
        assert "Menwei demo is running" in out, out
        assert f"http://127.0.0.1:{base}/" in out and "coordinator token:" in out
        assert "sign in as coordinator (coordinator), gate (operator)" in out
        for port in (base + 1, base + 2):
            gate = _signed_in(f"http://127.0.0.1:{port}", "gate")
            for _ in range(100):
                status = gate.get(f"http://127.0.0.1:{port}/api/v1/sync/status", timeout=5).json()
                if status.get("last_success_ms") and status["cursor"] > 0:
                    break
                time.sleep(0.2)
            assert status["last_error"] is None and status["pending"] == 0
            residents = gate.get(f"http://127.0.0.1:{port}/api/v1/rows/residents?limit=1000", timeout=5).json()
            assert residents["count"] == 1000 and "*" in residents["rows"][0]["id_number"]
            rules = gate.get(f"http://127.0.0.1:{port}/api/v1/rows/control_rules", timeout=5).json()["rows"]
            assert sorted(r["level"] for r in rules) == ["quarantine", "semi_closed"]
        b20 = status["replica_id"]
        assert b20 == "building-20"
        # the seed's posts, each desk serving its own; at building 20's door a room number alone is its room
        posts = gate.get(f"http://127.0.0.1:{base + 2}/api/v1/rows/posts", timeout=5).json()["rows"]
        assert sorted((p["name"], p["kind"], p.get("node_id")) for p in posts) == [
            ("20栋车库门 Building 20 garage door", "building_door", None),
            ("20栋门 Building 20 door", "building_door", "building-20"), ("东门 East gate", "gate", "east-gate")]
        for room in ("504", "1401", "1404", "1702"):
            hits = gate.get(f"http://127.0.0.1:{base + 2}/api/v1/gate/search", params={"q": room},
                            timeout=5).json()["results"]
            assert hits[0]["label"] == f"20-{room}", (room, hits[:3])
        cars = gate.get(f"http://127.0.0.1:{base + 2}/api/v1/gate/search", params={"q": "鄂A"},
                        timeout=5).json()["results"]
        assert [(c["kind"], c["detail"]) for c in cars] == [("vehicle", "20-1702")]
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0 and "demo stopped" in rest
        for port in (base, base + 1, base + 2):
            with socket.socket() as s:
                assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after Ctrl-C"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the demo and the hub and nodes it started
        except ProcessLookupError:
            pass
