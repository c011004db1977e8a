"""`menwei hub …`: set up, run and administer the community hub."""
import os
import sys

import click



def hub_app(data_dir):
    """Create the hub app whose database and instance file live in ``data_dir``."""
    from menwei.store.schema_fast import SchemaError
    from . import create_app
    try:
        return create_app(instance_path=os.path.abspath(data_dir))
    except SchemaError as e:
        raise click.ClickException(str(e)) from None


def _compound_id(rt, ref):
    from menwei.store.queries import live_ids
    with rt.store.read() as tx:
        ids = live_ids(tx, "compounds", "id = ? OR name = ?", (ref, ref))
    if len(ids) != 1:
        raise click.ClickException(f"no single compound with id or name {ref!r} (found {len(ids)})")
    return ids[0]


data_dir_option = click.option("--data-dir", default="menwei-data/hub", show_default=True, envvar="MENWEI_DATA_DIR",
                               help="Folder holding the hub's database and its menwei.cfg.")


@click.group("hub")
def hub_cli():
    """Run and administer the community hub."""


@hub_cli.command("init")
@data_dir_option
def init(data_dir):
    """Create the hub's database and print a new coordinator token."""
    from .admin import new_admin_token
    app = hub_app(data_dir)
    with app.app_context():
        token = new_admin_token()
    click.echo(f"hub database ready in {os.path.abspath(data_dir)}")
    click.echo(f"coordinator token (shown once, keep it safe): {token}")


@hub_cli.command("upgrade")
@data_dir_option
def upgrade(data_dir):
    """Upgrade the hub's database to this Menwei (stop every hub process first; creates it if new)."""
    from menwei.store.maintenance import upgrade as upgrade_database
    upgrade_database("hub", data_dir)


@hub_cli.command("seed-demo")
@data_dir_option
@click.option("--seed", default=2020, show_default=True, help="Random seed of the generated compound.")
def seed_demo_cmd(data_dir, seed):
    """Fill the hub with the demo compound (about 1,300 households and 4,500 residents)."""
    from menwei.runtime import runtime
    from menwei.demo.seed import seed_demo
    app = hub_app(data_dir)
    with app.app_context():
        cid, counts = seed_demo(runtime().replica, seed)
    click.echo(f"compound {cid}: " + (", ".join(f"{n} {t}" for t, n in counts.items()) or "already there"))


@hub_cli.command("import-residents")
@data_dir_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--compound", required=True, help="Id or name of the compound the register belongs to.")
@click.option("--sheet", default=None, help="Worksheet name of an .xlsx file (default: the first).")
@click.option("--map", "mappings", multiple=True, metavar="HEADER=FIELD",
              help="Read a column with an unusual header as a field, e.g. --map 户主=name (repeatable). "
                   "Fields: building, room, address, name, phone, id_number, gender, party_member, notes.")
def import_residents_cmd(data_dir, path, compound, sheet, mappings):
    """Import residents from the property office's .xlsx or .csv register (again: updates, never duplicates)."""
    from menwei.manage.registry_import import import_residents
    from menwei.runtime import runtime
    from menwei.store.spreadsheets import HEADERS
    mapping = {}
    for m in mappings:
        header, _, fld = m.partition("=")
        if not header or fld not in HEADERS:
            raise click.ClickException(f"--map {m!r}: use HEADER=FIELD with FIELD one of {', '.join(HEADERS)}")
        mapping[header] = fld
    app = hub_app(data_dir)
    with app.app_context():
        rt = runtime()
        cid = _compound_id(rt, compound)
        with click.progressbar(length=1, label="reading rows") as bar:
            def progress(rows):
                bar.length = len(rows)
                for row in rows:
                    bar.update(1)
                    yield row
            try:
                report = import_residents(rt.replica, cid, path, sheet, mapping, progress)
            except (ValueError, KeyError) as e:
                raise click.ClickException(f"cannot import {path}: {e}") from None
    click.echo(f"{report.rows} rows: {report.created} residents created, {report.updated} updated, "
               f"{report.unchanged} unchanged, {len(report.refused)} refused; {report.households_created} "
               f"households and {report.buildings_created} buildings created; {report.blank} blank rows skipped")
    for n, name, fld in report.kept_newer:
        click.echo(f"  row {n}: kept the newer {fld} of {name} edited in Menwei")
    for n, why in report.refused:
        click.echo(f"  row {n} refused: {why}")


@hub_cli.command("add-node")
@data_dir_option
@click.argument("node_id")
@click.option("--compound", required=True, help="Id or name of the compound the node serves.")
@click.option("--label", default="", help="Where the node is, e.g. 东门 / east gate.")
def add_node(data_dir, node_id, compound, label):
    """Register NODE_ID and print its one-time enrolment code (valid 24 hours)."""
    from menwei.runtime import runtime
    from .admin import AddNode
    errors = AddNode().validate({"id": node_id, "compound_id": "x", "label": label})
    if errors:
        raise click.ClickException(f"invalid node id {node_id!r}: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in errors.items()))
    app = hub_app(data_dir)
    with app.app_context():
        rt = runtime()
        code = rt.registry.add(node_id, _compound_id(rt, compound), label)
    click.echo(f"node {node_id} registered; enrolment code: {code}")
    click.echo(f"on the node run: menwei node enroll --hub http://HUB:PORT --code {code}")


@hub_cli.command("add-account")
@data_dir_option
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["coordinator", "operator", "volunteer", "viewer"]),
              help="coordinator (everything), operator (a gate desk), volunteer (deliveries), viewer (read only).")
@click.option("--compound", default=None, help="Id or name of the compound (default: the only one).")
@click.option("--name", "display_name", default=None, help="Name shown on pages, e.g. 王老师.")
@click.password_option("--password", help="Sign-in password, at least 8 characters (asked for when left out).")
def add_account(data_dir, username, role, compound, display_name, password):
    """Create a sign-in account; it reaches the compound's nodes on their next sync, so gates sign in offline."""
    from menwei.accounts.views import create_account
    from menwei.web.errors import ApiError
    from menwei.runtime import runtime
    app = hub_app(data_dir)
    with app.app_context(), app.test_request_context():
        rt = runtime()
        try:
            acct = create_account(username, password, role, display_name,
                                  _compound_id(rt, compound) if compound else None)
        except ApiError as e:
            raise click.ClickException(f"{e.message}: " + "; ".join(
                f"{k}: {v}" for k, v in (e.fields or {}).items()))
    click.echo(f"account {acct['username']} ({acct['role']}) created")


@hub_cli.command("revoke-node")
@data_dir_option
@click.argument("node_id")
def revoke_node(data_dir, node_id):
    """Revoke NODE_ID's token so it can no longer sync."""
    from menwei.runtime import runtime
    app = hub_app(data_dir)
    with app.app_context():
        if not runtime().registry.revoke(node_id):
            raise click.ClickException(f"no node {node_id}")
    click.echo(f"node {node_id} revoked")


@hub_cli.command("nodes")
@data_dir_option
def list_nodes(data_dir):
    """List registered nodes and their sync health."""
    from menwei.runtime import runtime
    app = hub_app(data_dir)
    with app.app_context():
        nodes = runtime().registry.all()
    if not nodes:
        click.echo("no nodes registered")
    for n in nodes:
        state = "revoked" if n["revoked"] else ("never synced" if not n["last_seen_ms"] else "ok")
        skew = "" if n["skew_ms"] is None else f" skew {n['skew_ms'] / 1000:+.1f}s"
        click.echo(f"{n['id']:20} {state}{skew} pending {n['pending'] or 0}"
                   + (f" error: {n['last_error']}" if n["last_error"] else ""))


class _Progress:
    """A click progress bar on stderr fed ``(done, total)``, opened at the first report (none if nothing to do)."""

    def __init__(self, label):
        self.label, self.bar, self.done = label, None, 0

    def __call__(self, done, total):
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr).__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)


@hub_cli.command("compact")
@data_dir_option
@click.option("--retention-days", type=click.FloatRange(min=0), default=None,
              help="Prune only behind nodes that pulled within this many days; one silent longer re-bootstraps "
                   "on its next sync (default: RETENTION_DAYS, 30).")
@click.option("--contacts-days", type=click.FloatRange(min=0), default=None,
              help="Drop node visits older than this many days from the diary behind outage and late-arrival "
                   "reports (default: CONTACTS_RETENTION_DAYS, 180).")
@click.option("--dry-run", is_flag=True,
              help="Report what a run would prune now and change nothing: it only reads, so nodes keep "
                   "syncing.")
def compact_cmd(data_dir, retention_days, contacts_days, dry_run):
    """Prune the change log and tombstones every node has pulled, and old entries of the node-visit diary."""
    from menwei.runtime import runtime
    from sync.compaction import compact
    app = hub_app(data_dir)
    cfg = app.config
    retention = cfg["RETENTION_DAYS"] if retention_days is None else retention_days
    contacts = cfg["CONTACTS_RETENTION_DAYS"] if contacts_days is None else contacts_days
    with app.app_context(), _Progress("pruning the change log") as progress:
        rt = runtime()
        report = compact(rt.store, rt.catalog, rt.wall(), int(retention * 86_400_000), int(contacts * 86_400_000),
                         dry_run=dry_run, progress=progress)
    verb = "would prune" if dry_run else "pruned"
    click.echo(f"{verb} {report.log_entries} change-log entries, "
               f"{sum(report.tombstones.values())} tombstones"
               + (f" ({', '.join(f'{n} {t}' for t, n in sorted(report.tombstones.items()))})" if report.tombstones else "")
               + f" and {report.contacts} node visits")
    for node_id in report.stale_nodes:
        click.echo(f"  node {node_id} has not pulled for over {retention:g} days and did not hold pruning back: "
                   "if it missed pruned changes it takes its compound in again as a snapshot on its next sync")


@hub_cli.command("run")
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8700, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes: more than 1 runs gunicorn (Linux; the database should be PostgreSQL). "
                   "Other gunicorn settings go in GUNICORN_CMD_ARGS.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Threads per process.")
def run(data_dir, host, port, workers, threads):
    """Serve the hub: waitress in one process, or gunicorn with several worker processes."""
    from menwei.web.serve import make_server, run_gunicorn
    app = hub_app(data_dir)  # creates or checks the database once, before any worker starts
    where = f"http://{host}:{port}/ (data in {os.path.abspath(data_dir)})"
    if workers > 1:
        if sys.platform == "win32":
            raise click.ClickException("several workers need gunicorn, which does not run on Windows: "
                                       "use --workers 1 and more --threads")
        if app.config["DATABASE_URL"].startswith("sqlite"):
            click.echo("note: several workers on SQLite take turns to write; PostgreSQL suits them better", err=True)
        with app.app_context():
            from menwei.store.db import db
            db.engine.dispose()  # workers open their own connections after the fork
        click.echo(f"hub serving on {where} with {workers} gunicorn workers × {threads} threads")
        run_gunicorn(lambda: hub_app(data_dir), host, port, workers, threads, data_dir=data_dir)
        return
    server = make_server(app, host, port, threads)
    click.echo(f"hub serving on {where}")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
