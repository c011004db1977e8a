"""The `menwei` command: every command documented, node set-up and catch-up through the CLI."""
import uuid

import click
import pytest

from conftest import Cluster
from menwei.cli import main
from node import create_app as create_node


def _all_commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path", [p for p, _ in _all_commands(main)], ids=" ".join)
def test_every_command_has_help(runner, path):
    result = runner.invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    cmd = dict(_all_commands(main))[path]
    assert cmd.help, f"{' '.join(path)} has no help text"
    for param in cmd.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"{' '.join(path)} --{param.name} has no help"


def test_hub_cli_registers_lists_and_revokes_nodes(runner, tmp_path):
    d = str(tmp_path / "hub")
    assert runner.invoke(main, ["hub", "init", "--data-dir", d]).exit_code == 0
    seeded = runner.invoke(main, ["hub", "seed-demo", "--data-dir", d])
    assert seeded.exit_code == 0 and "4526 residents" in seeded.output
    added = runner.invoke(main, ["hub", "add-node", "east-gate", "--compound", "绿景水岸小区", "--data-dir", d])
    assert added.exit_code == 0 and "enrolment code" in added.output
    listed = runner.invoke(main, ["hub", "nodes", "--data-dir", d])
    assert "east-gate" in listed.output and "never synced" in listed.output
    assert runner.invoke(main, ["hub", "revoke-node", "east-gate", "--data-dir", d]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["hub", "nodes", "--data-dir", d]).output


def test_hub_cli_adds_an_account_that_can_sign_in(runner, tmp_path):
    d = str(tmp_path / "hub")
    runner.invoke(main, ["hub", "init", "--data-dir", d])
    runner.invoke(main, ["hub", "seed-demo", "--data-dir", d])
    made = runner.invoke(main, ["hub", "add-account", "wang", "--role", "operator", "--name", "王老师",
                                "--data-dir", d], input="门卫-password\n门卫-password\n")
    assert made.exit_code == 0 and "account wang (operator) created" in made.output
    again = runner.invoke(main, ["hub", "add-account", "wang", "--role", "viewer", "--password", "another-pass",
                                 "--data-dir", d])
    assert again.exit_code != 0 and "already an account" in again.output
    short = runner.invoke(main, ["hub", "add-account", "li", "--role", "viewer", "--password", "short",
                                 "--data-dir", d])
    assert short.exit_code != 0 and "password" in short.output
    from hub import create_app
    app = create_app(instance_path=d)
    r = app.test_client().post("/api/v1/auth/login", json={"username": "wang", "password": "门卫-password"})
    assert r.status_code == 200 and r.get_json()["role"] == "operator"


@pytest.mark.parametrize("args, message", [
    (["hub", "add-node", "east-gate", "--compound", "no such place"], "no single compound"),
    (["hub", "add-node", "East Gate!", "--compound", "x"], "invalid node id"),
    (["hub", "revoke-node", "ghost"], "no node ghost"),
])
def test_hub_cli_user_errors_exit_non_zero_with_a_message(runner, tmp_path, args, message):
    result = runner.invoke(main, [*args, "--data-dir", str(tmp_path / "hub")])
    assert result.exit_code != 0 and message in result.output


def test_node_cli_refuses_a_bad_code_and_sync_before_enrolment(runner, tmp_path):
    c = Cluster(tmp_path, node_ids=(), start_ms=None)
    try:
        d = str(tmp_path / "node")
        bad = runner.invoke(main, ["node", "enroll", "--hub", c.server.url, "--code", "AAAA-BBBB", "--data-dir", d])
        assert bad.exit_code != 0 and "enrolment refused" in bad.output
        unreachable = runner.invoke(main, ["node", "enroll", "--hub", "http://127.0.0.1:9", "--code", "AAAA-BBBB",
                                           "--data-dir", d])
        assert unreachable.exit_code != 0 and "cannot reach the hub" in unreachable.output
        early = runner.invoke(main, ["node", "sync", "--once", "--data-dir", d])
        assert early.exit_code != 0 and "not enrolled" in early.output
    finally:
        c.close()


def test_node_offline_for_a_day_catches_up_in_one_sync(runner, tmp_path):
    c = Cluster(tmp_path, node_ids=(), start_ms=None)
    try:
        code = c.hub.api("POST", "/nodes", json={"id": "east-gate", "compound_id": c.compound_id}).get_json()["code"]
        d = tmp_path / "east-gate"
        r = runner.invoke(main, ["node", "enroll", "--hub", c.server.url, "--code", code, "--data-dir", str(d)])
        assert r.exit_code == 0, r.output
        # A day offline: 10,000 gate events at this gate, while the hub records 2,000 residents' edits.
        node = create_node(instance_path=str(d))
        rep = node.extensions["menwei"].replica
        events = [("gate_events", str(uuid.uuid4()), {
            "compound_id": c.compound_id, "gate": "east-gate", "direction": "out" if i % 2 else "in",
            "at": f"2020-02-04T{i * 24 // 10_000:02d}:{i % 60:02d}:00", "decision": "allowed",
            "temperature": 36.0 + (i % 10) / 10, "person_name": f"居民{i}"}) for i in range(10_000)]
        for i in range(0, len(events), 2500):
            rep.write(events[i:i + 2500], create=True)
        hh = c.hub.api("POST", "/rows/households", json={"compound_id": c.compound_id, "building_id": "b",
                                                          "room": "101"}).get_json()["id"]
        c.hub.replica.write([("residents", str(uuid.uuid4()), {"compound_id": c.compound_id, "household_id": hh,
                                                               "name": f"居民{i}"}) for i in range(2000)])
        result = runner.invoke(main, ["node", "sync", "--once", "--data-dir", str(d)])
        assert result.exit_code == 0, result.output
        assert "pushed 10000, pending 0" in result.output
        assert len(c.hub.table("gate_events")) == 10_000
        node_rt = create_node(instance_path=str(d)).extensions["menwei"]
        with node_rt.store.read() as tx:
            assert tx.rows("SELECT COUNT(*) FROM residents")[0][0] == 2000
            assert tx.rows("SELECT COUNT(*) FROM gate_events")[0][0] == 10_000
        with c.hub.rt.store.read() as tx:
            assert node_rt.state("cursor") == tx.log_end()
    finally:
        c.close()
