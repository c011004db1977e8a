"""`menwei demo`: a hub and two gate nodes on localhost, seeded with the demo compound and syncing."""
import os
import signal
import subprocess
import sys
import time

import click
import requests

from menwei.store.file_modes import private_file, write_private

NODES = (("east-gate", "东门 East gate"), ("building-20", "20栋门 Building 20 door"))
#: Sign-in accounts of the demo, one per role, all with DEMO_PASSWORD (a demo is not a deployment). The basket
#: account is 王建国 of the basket team (BASKET_TEAM), so the basket page takes him as who pays at the till.
ACCOUNTS = (("coordinator", "coordinator", "协调员 Coordinator"), ("gate", "operator", "门岗 Gate operator"),
            ("basket", "volunteer", "王建国"), ("viewer", "viewer", "观察员 Viewer"))
DEMO_PASSWORD = "menwei-demo"


def _wait_until_up(url, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(f"{url} exited with code {proc.returncode} while starting")
        try:
            requests.get(url + "/api/v1/tables", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise click.ClickException(f"{url} did not start within {timeout}s")


def _spawn(args):
    # Children ignore SIGINT so that Ctrl-C reaches only us and we stop them in order.
    return subprocess.Popen([sys.executable, "-m", "menwei.cli", *args],
                            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if os.name == "posix"
                            else None)


def prepare(data_dir, base_port):
    """Create and seed the hub, register both nodes and return the coordinator token (idempotent)."""
    from hub.admin import new_admin_token
    from hub.cli import hub_app
    from menwei.runtime import runtime
    from menwei.demo.seed import seed_demo
    hub_dir = os.path.join(data_dir, "hub")
    token_file = os.path.join(hub_dir, "coordinator-token.txt")
    app = hub_app(hub_dir)
    codes = {}
    with app.app_context():
        rt = runtime()
        compound_id, counts = seed_demo(rt.replica)
        if counts:
            click.echo("seeded the demo compound: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
        _demo_accounts(app)
        _demo_rules(rt, compound_id)
        _demo_volunteers(rt, compound_id)
        _demo_posts(rt, compound_id)
        if not os.path.exists(token_file):
            write_private(token_file, new_admin_token())
        private_file(token_file)
        for node_id, label in NODES:
            node = rt.registry.get(node_id)
            if node is None or not _node_enrolled(data_dir, node_id):
                codes[node_id] = rt.registry.add(node_id, compound_id, label)
    with open(token_file) as fh:
        return fh.read().strip(), codes


def _demo_accounts(app):
    from menwei.accounts.views import create_account
    from menwei.web.errors import ApiError
    with app.test_request_context():
        for username, role, name in ACCOUNTS:
            try:
                create_account(username, DEMO_PASSWORD, role, name)
            except ApiError as e:
                if e.status != 409:  # 409: made by an earlier run of the demo
                    raise


def _demo_rules(rt, compound_id):
    """The lockdown of February 2020: one outing per household every two days, cars out only, 20栋 sealed."""
    from sync.ids import new_id
    from menwei.times import iso
    with rt.store.read() as tx:
        if tx.rows("SELECT 1 FROM control_rules WHERE compound_id = ?", (compound_id,)):
            return
        b20 = tx.rows("SELECT id FROM buildings WHERE compound_id = ? AND number = '20'", (compound_id,))
    since = iso(rt.wall() - 86_400_000)
    rules = [{"compound_id": compound_id, "effective_from": since, "level": "semi_closed", "outing_quota": 1,
              "outing_days": 2, "vehicle_policy": "exit_only", "fever_threshold": 37.3,
              "notes": "每户每两天一人外出采购"}]
    if b20:
        rules.append({"compound_id": compound_id, "building_id": b20[0][0], "effective_from": since,
                      "level": "quarantine", "notes": "20栋全封闭隔离，物资由菜篮子小组送到楼下"})
    rt.replica.write([("control_rules", new_id(), r) for r in rules], create=True)


#: The shopping-basket team: five party-member volunteers bought the quarantined building's food each
#: morning from 3 February 2020 (the seed's account); their names here are invented.
BASKET_TEAM = ("王建国", "李秀英", "赵志强", "孙丽华", "周海燕")


def _demo_volunteers(rt, compound_id):
    """The basket team, so the shopping page has someone to pay at the till."""
    from sync.ids import new_id
    with rt.store.read() as tx:
        if tx.rows("SELECT 1 FROM volunteers WHERE compound_id = ?", (compound_id,)):
            return
    rt.replica.write([("volunteers", new_id(), {"compound_id": compound_id, "name": name, "party_member": True,
                                                "organisation": "菜篮子小组 basket team"}) for name in BASKET_TEAM],
                     create=True)


#: The posts of the seed's story: the compound's east gate, building 20's door and its underground garage door
#: (the loophole: the door was locked but residents left by lift through the garage until it was padlocked).
POSTS = (("东门 East gate", "gate", "east-gate", None), ("20栋门 Building 20 door", "building_door", "building-20", "20"),
         ("20栋车库门 Building 20 garage door", "building_door", None, "20"))


def _demo_posts(rt, compound_id):
    """The demo's posts, each desk node serving its own (idempotent: posts already named are left alone)."""
    from sync.ids import new_id
    with rt.store.read() as tx:
        have = {r[0] for r in tx.rows("SELECT name FROM posts WHERE compound_id = ?", (compound_id,))}
        buildings = dict(tx.rows("SELECT number, id FROM buildings WHERE compound_id = ?", (compound_id,)))
    writes = []
    for name, kind, node_id, building in POSTS:
        if name in have:
            continue
        data = {"compound_id": compound_id, "name": name, "kind": kind, "node_id": node_id,
                "building_id": buildings.get(building)}
        writes.append(("posts", new_id(), {k: v for k, v in data.items() if v is not None}))
    if writes:
        rt.replica.write(writes, create=True)


def _node_enrolled(data_dir, node_id):
    from node.cli import node_app
    from menwei.runtime import runtime
    app = node_app(os.path.join(data_dir, node_id))
    with app.app_context():
        return runtime().enrolled


@click.command("demo")
@click.option("--base-port", default=8700, show_default=True, type=int,
              help="Hub on this port, the nodes on the next two.")
@click.option("--data-dir", default="demo-data", show_default=True, help="Folder for the three databases.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address every server listens on.")
def demo(base_port, data_dir, host):
    """Start a seeded hub and two syncing gate nodes (east-gate, building-20); Ctrl-C stops them."""
    from node.cli import enroll_node, node_app
    # Ctrl-C, and a service manager's SIGTERM, both stop the demo cleanly (even when started in the
    # background, where SIGINT would otherwise be ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    os.makedirs(data_dir, exist_ok=True)
    token, codes = prepare(data_dir, base_port)
    hub_url = f"http://{host}:{base_port}"
    procs = []
    try:
        hub = _spawn(["hub", "run", "--data-dir", os.path.join(data_dir, "hub"), "--host", host,
                      "--port", str(base_port)])
        procs.append(hub)
        _wait_until_up(hub_url, hub)
        urls = []
        for i, (node_id, label) in enumerate(NODES, start=1):
            node_dir = os.path.join(data_dir, node_id)
            if node_id in codes:
                enroll_node(node_app(node_dir), hub_url, codes[node_id])
            port = base_port + i
            p = _spawn(["node", "run", "--data-dir", node_dir, "--host", host, "--port", str(port)])
            procs.append(p)
            urls.append((node_id, label, f"http://{host}:{port}", p))
        for node_id, label, url, p in urls:
            _wait_until_up(url, p)
        click.echo("")
        click.echo("Menwei demo is running (Ctrl-C stops it):")
        click.echo(f"  hub          {hub_url}/   coordinator token: {token}")
        for node_id, label, url, _ in urls:
            click.echo(f"  {node_id:12} {url}/   ({label})")
        click.echo("  sign in as " + ", ".join(f"{u} ({r})" for u, r, _ in ACCOUNTS)
                   + f"; password {DEMO_PASSWORD}")
        click.echo(f"  sync status  {urls[0][2]}/api/v1/sync/status")
        click.echo(f"  data         {os.path.abspath(data_dir)}")
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        raise click.ClickException("a demo server stopped unexpectedly")
    except KeyboardInterrupt:
        click.echo("\nstopping…")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        click.echo("demo stopped")
