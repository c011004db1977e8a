"""Secrets at rest and the sync clock's range (finding 11): private files, sane clock readings."""
import os
import stat

import pytest

from conftest import ADMIN
from hub import create_app as create_hub
from menwei.store.backup import backup
from menwei.cli import main
from menwei.store.file_modes import write_private
from menwei.tables import SCHEMA_VERSION
from node import create_app as create_node

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """The umask of a careless shell (0022), restored afterwards."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("create", [create_hub, create_node])
def test_a_database_made_or_found_world_readable_is_made_private(tmp_path, open_umask, create):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    db = data / "menwei.db"
    db.touch(mode=0o644)  # as an older Menwei left it
    os.chmod(db, 0o644)
    create({"DATABASE_URL": f"sqlite:///{db}", "ADMIN_TOKEN": ADMIN}, instance_path=str(tmp_path / "inst"))
    assert _mode(data) == 0o700
    assert {p.name: _mode(p) for p in data.iterdir()} == {p.name: 0o600 for p in data.iterdir()}


def test_a_new_database_and_its_backup_are_private(tmp_path, open_umask):
    create_node({"DATABASE_URL": f"sqlite:///{tmp_path}/n/node.db", "ADMIN_TOKEN": ADMIN},
                instance_path=str(tmp_path / "n"))
    assert _mode(tmp_path / "n") == 0o700 and _mode(tmp_path / "n" / "node.db") == 0o600
    backup(str(tmp_path / "n" / "node.db"), str(tmp_path / "copies" / "node.bak"))
    assert _mode(tmp_path / "copies" / "node.bak") == 0o600


def test_the_menwei_command_creates_private_files(tmp_path, runner, open_umask):
    d = tmp_path / "hub"
    result = runner.invoke(main, ["hub", "init", "--data-dir", str(d)])
    assert result.exit_code == 0, result.output
    assert _mode(d) == 0o700 and all(_mode(p) == 0o600 for p in d.iterdir() if p.is_file())


def test_a_token_file_is_private_even_when_it_existed(tmp_path, open_umask):
    path = tmp_path / "coordinator-token.txt"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_private(str(path), "new-token")
    assert path.read_text() == "new-token" and _mode(path) == 0o600


@pytest.mark.parametrize("clock_ms", [2 ** 53, 7_258_118_400_000, -1])
def test_a_push_or_pull_with_an_absurd_clock_reading_is_a_400_naming_it(cluster, clock_ms):
    hub, east = cluster.hub, cluster.nodes["east-gate"]
    token = {"Authorization": f"Bearer {east.rt.state('token')}"}
    r = hub.http.post("/sync/v1/push", headers=token, json={"node_id": "east-gate", "schema_version": SCHEMA_VERSION,
                                                            "clock_ms": clock_ms, "pending": 0, "changes": []})
    assert r.status_code == 400 and "clock_ms" in r.get_json()["fields"], r.get_json()
    r = hub.http.get("/sync/v1/pull", headers=token, query_string={"cursor": 0, "schema_version": SCHEMA_VERSION,
                                                                    "clock_ms": clock_ms})
    assert r.status_code == 400 and "clock_ms" in r.get_json()["fields"]
    east.sync()  # an honest clock still syncs
