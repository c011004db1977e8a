"""`menwei node …`: enrol, run and sync a gate node."""
import os
import time

import click
import requests


def node_app(data_dir):
    """Create the node app whose database and instance file live in ``data_dir``."""
    from menwei.store.schema_fast import SchemaError
    from . import create_app
    try:
        return create_app(instance_path=os.path.abspath(data_dir))
    except SchemaError as e:
        raise click.ClickException(str(e)) from None


data_dir_option = click.option("--data-dir", default="menwei-data/node", show_default=True,
                               envvar="MENWEI_DATA_DIR", help="Folder holding the node's database and menwei.cfg.")


@click.group("node")
def node_cli():
    """Run and sync a gate or building node."""


def enroll_node(app, hub_url, code):
    """Exchange an enrolment code at the hub and store the node's identity; return the hub's answer."""
    from menwei.runtime import runtime
    try:
        resp = requests.post(hub_url.rstrip("/") + "/sync/v1/enroll", json={"code": code}, timeout=30)
    except requests.RequestException as e:
        raise click.ClickException(f"cannot reach the hub at {hub_url}: {type(e).__name__}") from None
    try:
        body = resp.json()
    except ValueError:
        raise click.ClickException(f"{hub_url} did not answer like a Menwei hub (HTTP {resp.status_code})") from None
    if resp.status_code != 200:
        raise click.ClickException(f"enrolment refused: {body.get('error', resp.status_code)}")
    with app.app_context():
        runtime().save_enrolment(hub_url, body)
    return body


@node_cli.command("enroll")
@data_dir_option
@click.option("--hub", "hub_url", required=True, help="The hub's URL, e.g. http://192.168.1.10:8700.")
@click.option("--code", required=True, help="The one-time code from `menwei hub add-node`.")
def enroll(data_dir, hub_url, code):
    """Enrol this node with the hub using a one-time code, then take in its compound as a snapshot."""
    from menwei.web.errors import ApiError
    from menwei.runtime import runtime
    from menwei.web.serve import limit_malloc_arenas
    from sync.http_client import SyncFailed
    limit_malloc_arenas()  # the snapshot is fetched in a second thread; it needs no arena of its own
    app = node_app(data_dir)
    try:
        body = enroll_node(app, hub_url, code)
    except ApiError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"enrolled as node {body['node_id']} of compound {body['compound_id']}")
    with app.app_context():
        t0 = time.perf_counter()
        try:
            rows = runtime().sync_client().bootstrap()
        except (SyncFailed, requests.RequestException) as e:
            raise click.ClickException(f"enrolled, but the compound's snapshot did not arrive ({e}); "
                                       "`menwei node sync --once` or `menwei node run` finishes it") from None
    click.echo(f"took in {rows} rows of the compound in {time.perf_counter() - t0:.1f}s")


@node_cli.command("sync")
@data_dir_option
@click.option("--once", is_flag=True, required=True, help="Run one full sync round (push, then pull) and exit.")
def sync(data_dir, once):
    """Sync with the hub now; exit non-zero if the round fails."""
    from menwei.web.errors import ApiError
    from menwei.runtime import runtime
    from menwei.web.serve import limit_malloc_arenas
    from sync.http_client import SyncFailed
    limit_malloc_arenas()
    app = node_app(data_dir)
    with app.app_context():
        try:
            client = runtime().sync_client()
            before = client.pending()
            t0 = time.perf_counter()
            st = client.sync_once()
        except ApiError as e:
            raise click.ClickException(e.message) from None
        except SyncFailed as e:
            raise click.ClickException(f"sync failed: {e} ({client.pending()} changes still queued)") from None
    click.echo(f"synced in {time.perf_counter() - t0:.2f}s: pushed {before - st.pending}, "
               f"pending {st.pending}, clock skew {(st.skew_ms or 0) / 1000:+.1f}s")


@node_cli.command("status")
@data_dir_option
def status(data_dir):
    """Show this node's enrolment and sync health."""
    from menwei.runtime import runtime
    from menwei.store.queries import pending_changes
    app = node_app(data_dir)
    with app.app_context():
        rt = runtime()
        if not rt.enrolled:
            raise click.ClickException("not enrolled: run `menwei node enroll --hub URL --code CODE`")
        st = rt.state("sync_status", {})
        pending = pending_changes(rt)
        click.echo(f"node {rt.replica.id} of compound {rt.compound_id}, hub {rt.state('hub_url')}")
        click.echo(f"pending {pending}; last success {st.get('last_success_ms')}; "
                   f"last error {st.get('last_error') or '-'}; skew {st.get('skew_ms')} ms")


@node_cli.command("run")
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8701, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-sync", is_flag=True, help="Do not sync in the background (offline on purpose).")
def run(data_dir, host, port, no_sync):
    """Serve the node's desk and API, syncing with the hub in the background."""
    from menwei.runtime import runtime
    from menwei.web.serve import limit_malloc_arenas, make_server
    from sync.http_client import BackgroundSync
    limit_malloc_arenas()
    app = node_app(data_dir)
    syncer = None
    with app.app_context():
        rt = runtime()
        if rt.enrolled and not no_sync:
            syncer = BackgroundSync(rt.sync_client(), app.config["SYNC_INTERVAL_S"],
                                    app.config["SYNC_BACKOFF_MAX_S"]).start()
            app.extensions["menwei_syncer"] = syncer
        elif not rt.enrolled:
            click.echo("not enrolled: serving offline; run `menwei node enroll` to sync", err=True)
    server = make_server(app, host, port)
    click.echo(f"node serving on http://{host}:{port}/ (data in {os.path.abspath(data_dir)})")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if syncer:
            syncer.stop()


@node_cli.command("upgrade")
@data_dir_option
def upgrade(data_dir):
    """Upgrade the node's database to this Menwei (a node also does it itself when it starts)."""
    from menwei.store.maintenance import upgrade as upgrade_database
    upgrade_database("node", data_dir)


@node_cli.command("backup")
@data_dir_option
@click.option("--to", "to_path", required=True, type=click.Path(dir_okay=False),
              help="The backup file to write (replaced if it exists); safe while the node runs.")
def backup(data_dir, to_path):
    """Copy the node's database to a file with SQLite's online backup, while the node keeps working."""
    from menwei.store.backup import BackupError, backup as backup_database
    from menwei.store.maintenance import node_database_file
    try:
        info = backup_database(node_database_file(data_dir), to_path)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"backed up node {info['node_id'] or '(not enrolled)'} ({info['own_seq']} own changes, "
               f"revision {info['revision']}, {info['bytes'] / 1e6:.1f} MB) to {os.path.abspath(to_path)}")


@node_cli.command("restore")
@data_dir_option
@click.option("--from", "from_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The backup file written by `menwei node backup`.")
@click.option("--force", is_flag=True, help="Replace a database that belongs to another node.")
def restore(data_dir, from_path, force):
    """Put a backup in place of the node's database (stop the node first); the next sync catches up."""
    from menwei.store.backup import BackupError, restore as restore_database
    from menwei.store.maintenance import node_database_file
    try:
        info, kept = restore_database(from_path, node_database_file(data_dir), force)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    if kept:
        click.echo(f"the database replaced is kept as {kept}")
    click.echo(f"restored node {info['node_id']} ({info['own_seq']} own changes, revision {info['revision']}); "
               "start it: its next sync fetches back from the hub whatever it did after this backup")
