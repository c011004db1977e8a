"""`menwei hub run --workers N`: gunicorn worker processes serving one database, nodes syncing through them."""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests
from sqlalchemy import create_engine, text

from conftest import ADMIN, AUTH, hub_database_url
from node import create_app as create_node
from node.cli import enroll_node

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX only")
def test_a_hub_with_gunicorn_workers_serves_nodes(tmp_path):
    d = tmp_path / "hub"
    d.mkdir()
    hub_url = hub_database_url(tmp_path)
    (d / "menwei.cfg").write_text(f"DATABASE_URL = {hub_url!r}\n")
    port = _free_port()
    env = {**os.environ, "MENWEI_ADMIN_TOKEN": ADMIN}
    proc = subprocess.Popen([sys.executable, "-m", "menwei.cli", "hub", "run", "--workers", "3", "--threads", "2",
                             "--port", str(port), "--data-dir", str(d)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(url + "/api/v1/sync/status", headers=AUTH, timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("the hub did not start: " + proc.stdout.read() if proc.poll() is not None else "timeout")
        for _ in range(100):  # the first worker may answer before the others have started
            if len(_children(proc.pid)) == 3:
                break
            time.sleep(0.1)
        assert len(_children(proc.pid)) == 3
        cid = requests.post(url + "/api/v1/rows/compounds", json={"name": "绿景水岸小区"}, headers=AUTH,
                            timeout=10).json()["id"]
        nodes = []
        for name in ("east-gate", "west-gate"):
            code = requests.post(url + "/api/v1/nodes", json={"id": name, "compound_id": cid}, headers=AUTH,
                                 timeout=10).json()["code"]
            app = create_node({"DATABASE_URL": f"sqlite:///{tmp_path}/{name}.db"}, instance_path=str(tmp_path / name))
            enroll_node(app, url, code)
            rep = app.extensions["menwei"].replica
            rep.write([("gate_events", str(uuid.uuid4()), {"compound_id": cid, "gate": name, "direction": "in",
                                                          "at": "2020-02-03T08:00:00", "decision": "allowed"})
                       for _ in range(200)], create=True)
            nodes.append(app)
        for _ in range(2):
            for app in nodes:
                with app.app_context():
                    assert app.extensions["menwei"].sync_client().sync_once().pending == 0
        for app in nodes:
            with app.extensions["menwei"].store.read() as tx:
                assert tx.rows("SELECT COUNT(*) FROM gate_events")[0][0] == 400
        engine = create_engine(hub_url)
        with engine.connect() as conn:  # every event once, whichever worker merged it
            assert conn.execute(text("SELECT COUNT(*), COUNT(DISTINCT _oseq || _origin) FROM gate_events")).one() \
                == (400, 400)
        engine.dispose()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stdout.read()
