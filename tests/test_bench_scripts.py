"""Each benchmark in bench/ still runs end to end (tiny sizes; the figures themselves are not judged here)."""
import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("script, args, says", [
    ("gate_check.py", ["--events", "400", "--checks", "10", "--port", "{port}"], "gate check p50"),
    ("push_merge.py", ["--changes", "3000", "--pg-url", "none", "--port", "{port}"], "sqlite hub: push+merge"),
    ("bootstrap.py", ["--events", "600", "--port", "{port}"], "bootstrap by snapshot"),
    ("dashboard.py", ["--events", "2000", "--repeat", "1"], '"events"'),
    ("backup_recovery.py", ["--events", "2000", "--lost", "200"], "restored node recovering 200 lost events"),
    ("chain_parser.py", ["--lines", "300", "--repeat", "1"], "chain parser: 300 lines"),
])
def test_the_benchmark_runs_and_prints_its_figures(script, args, says, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    env.pop("MENWEI_TEST_PG_URL", None)
    args = [a.replace("{port}", str(_free_port())) for a in args]
    done = subprocess.run([sys.executable, os.path.join(ROOT, "bench", script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert says in done.stdout, done.stdout[-3000:]
