"""Fixtures: app → client → runner for one replica, and real HTTP clusters of a hub and gate nodes."""
import importlib
import logging
import os
import shutil
import subprocess
import threading

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from hub import create_app as create_hub
from menwei.runtime import runtime
from node import create_app as create_node
from node.cli import enroll_node
from sync.clock import ManualClock, OffsetClock

logging.getLogger("werkzeug").setLevel(logging.WARNING)
#: CI=true (as CI runs the suite): a missing database, browser, font or library fails the run instead of skipping.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ADMIN = "test-coordinator-token"
#: Set (e.g. postgresql+psycopg://menwei:menwei@127.0.0.1/menwei_test) to run every test hub on PostgreSQL.
PG_URL = os.environ.get("MENWEI_TEST_PG_URL")
CHROMIUM = os.environ.get("MENWEI_CHROMIUM", "/usr/bin/chromium")
HAVE_CHROMIUM = bool(shutil.which(CHROMIUM)) or os.path.exists(CHROMIUM)
AUTH = {"Authorization": f"Bearer {ADMIN}"}
PASSWORD = "门卫-test-password"


#: PostgreSQL hub schemas this run made: lent to one test at a time, emptied for the next, dropped at the end.
_pg_schemas = []
_pg_free = []  # schemas whose test is over: the next hub takes one, its tables emptied
_pg_lent = None  # schemas lent to the running test; None outside a test (e.g. a module fixture: a schema of its own)
_pg_reused = []  # one entry per hub that got an emptied schema instead of a new one (the run's summary counts them)


def after_statement(monkeypatch, marker, action):
    """Run ``action()`` once, right after the first SQL statement containing ``marker``: a commit landing
    between two statements of one read. Returns a list that holds ``action``'s result once it ran."""
    from sync import sql_store
    real, fired = sql_store.Txn.rows, []

    def rows(self, sql, params=()):
        out = real(self, sql, params)
        if marker in sql and not fired:
            fired.append(None)  # before the call: the action runs statements of its own
            fired[0] = action()
        return out
    monkeypatch.setattr(sql_store.Txn, "rows", rows)
    return fired


def _pg_engine():
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool
    return create_engine(PG_URL, poolclass=NullPool)


def _pg_url(schema):
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _emptied(schema):
    """Empty a schema a finished test's hub used, for the next hub; False if it is not a whole hub database at
    the newest revision any more (a test migrated or broke it) or a straggler holds a lock on it: not reused."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from menwei.store import schema_fast
    from menwei.store.db import db
    eng = _pg_engine()
    try:
        with eng.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            tables = {r[0] for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"),
                                                 {"s": schema})}
            if tables != set(db.metadata.tables) | {"alembic_version"}:
                return False
            if [r[0] for r in conn.execute(text(f"SELECT version_num FROM {schema}.alembic_version"))] \
                    != [schema_fast.head()]:
                return False
            sequences = [r[0] for r in conn.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"), {"s": schema})]
            # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE makes new files for every table and index
            # (measured 0.45–0.86 s against 0.05–0.35 s); the sequences restart, as in a new database.
            conn.exec_driver_sql("; ".join([f"DELETE FROM {schema}.{t}" for t in sorted(db.metadata.tables)]
                                           + [f"ALTER SEQUENCE {schema}.{q} RESTART" for q in sequences]))
        return True
    except DBAPIError:  # a straggler's lock (lock_timeout): this schema is not reused, only dropped at the end
        return False
    finally:
        eng.dispose()


def hub_database_url(tmp_path, fresh=False):
    """A hub database: an SQLite file, or a schema of the test PostgreSQL database.

    On PostgreSQL a test's schemas are reused by later tests with their tables emptied (creating and dropping
    one per test was most of the PostgreSQL pass's extra time); ``fresh``: a new, empty schema (migration tests).
    """
    if _no_hub_database:
        pytest.fail("this module is listed in NO_HUB_DATABASE (tests/conftest.py) but opens a hub database: "
                    "remove it from the list, it belongs to both passes", pytrace=False)
    if not PG_URL:
        return f"sqlite:///{tmp_path}/hub.db"
    pooled = not fresh and _pg_lent is not None
    while pooled and _pg_free:
        schema = _pg_free.pop()
        if _emptied(schema):
            _pg_reused.append(schema)
            _pg_lent.append(schema)
            return _pg_url(schema)
    import uuid as _uuid
    from sqlalchemy import text
    schema = "t_" + _uuid.uuid4().hex[:12]
    eng = _pg_engine()
    with eng.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    eng.dispose()
    _pg_schemas.append(schema)
    if pooled:
        _pg_lent.append(schema)
    return _pg_url(schema)


@pytest.fixture(autouse=True)
def _lend_pg_schemas(request):
    """Schemas the test's hubs used go back to the pool once every fixture of the test is torn down."""
    global _pg_lent, _no_hub_database
    _pg_lent, _no_hub_database = [], request.path.name in NO_HUB_DATABASE
    yield
    _pg_free.extend(_pg_lent)
    _pg_lent, _no_hub_database = None, False


#: Test modules that never open a hub database (pure logic, nodes, the deployment files, hubs on SQLite files
#: they name): the PostgreSQL pass would run them again unchanged, so they run in the SQLite pass only.
#: hub_database_url fails a test of these modules in either pass: such a module belongs to both.
NO_HUB_DATABASE = {"test_bench_scripts.py", "test_chain_corpus.py", "test_chain_parser.py", "test_checkpoint.py",
                   "test_configuration.py", "test_demo_data.py", "test_deploy.py", "test_gate_rules.py", "test_ids.py",
                   "test_merge.py", "test_roster.py"}
_no_hub_database = False  # the running test is of one of those modules
#: Browser modules that drive a node's pages only and assert only what the node shows (their hub only sets up
#: rows and accounts, as hundreds of other tests' hubs do): a node is on SQLite in both passes.
NODE_PAGES_ONLY = {"test_basket_journey.py", "test_desk_browser.py", "test_desk_journey.py"}


def _sqlite_only(item):
    """Why ``item`` belongs to the SQLite pass only, or None."""
    marker = item.get_closest_marker("sqlite_only")
    if marker:
        return marker.args[0] if marker.args else "checks a path only an SQLite hub has"
    if item.path.name in NO_HUB_DATABASE:
        return "opens no hub database"
    if item.path.name in NODE_PAGES_ONLY:
        return "drives a node's pages only, and nodes are on SQLite in both passes"
    return None


def pytest_collection_modifyitems(config, items):
    """The one rule for SQLite-only tests (``_sqlite_only``): skipped in the PostgreSQL pass, saying why."""
    if not PG_URL:
        return
    for item in items:
        why = _sqlite_only(item)
        if why:
            item.add_marker(pytest.mark.skip(reason=f"belongs to the SQLite pass: {why}"))


@pytest.fixture(autouse=True, scope="session")
def _drop_pg_schemas():
    yield
    if PG_URL and _pg_schemas:
        from sqlalchemy import text
        eng = _pg_engine()
        for schema in _pg_schemas:  # one transaction each: a schema's tables take many locks
            with eng.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        eng.dispose()


def pytest_terminal_summary(terminalreporter):
    """Say how many PostgreSQL schemas the run made and how often one was reused."""
    if PG_URL:
        terminalreporter.write_line(f"PostgreSQL hub schemas: {len(_pg_schemas)} made, {len(_pg_reused)} reused "
                                    "(all dropped at the end)")


@pytest.fixture
def app(tmp_path):
    """A hub app on a fresh database (SQLite, or PostgreSQL when MENWEI_TEST_PG_URL is set)."""
    return create_hub({"DATABASE_URL": hub_database_url(tmp_path), "ADMIN_TOKEN": ADMIN, "TESTING": True},
                      instance_path=str(tmp_path / "hub"))


@pytest.fixture
def client(app):
    """A test client of the hub app."""
    return app.test_client()


@pytest.fixture
def runner():
    """A click runner for the `menwei` command."""
    return CliRunner()


class LiveServer:
    """A Flask app served over real HTTP on a loopback port, in a thread."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        """Stop serving."""
        self.server.shutdown()
        self.thread.join(5)


class Replica:
    """A hub or node in a test cluster: its app, manual clock and handy calls."""

    def __init__(self, app, clock):
        self.app, self.clock = app, clock
        self.http = app.test_client()
        self.http.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {ADMIN}"  # the coordinator API token
        self.rt = app.extensions["menwei"]
        self.hub = None  # a node's hub in a Cluster (accounts are made there)

    @property
    def replica(self):
        """The sync core's replica object."""
        return self.rt.replica

    def api(self, method, path, **kw):
        """Call the replica's own /api/v1 (with the coordinator token at the hub)."""
        return self.http.open("/api/v1" + path, method=method, headers=AUTH, **kw)

    def make_account(self, role):
        """Make the ``role`` account sign_in uses (once): at a node's hub, then synced, as accounts are made."""
        username = f"{role}-{self.rt.replica.id}"
        maker = self.hub or self
        extra = {"compound_id": self.rt.compound_id} if self.hub else {}
        r = maker.api("POST", "/accounts", json={"username": username, "password": PASSWORD, "role": role, **extra})
        assert r.status_code in (201, 409), r.get_json()
        if self.hub and r.status_code == 201:
            self.sync()
        return username

    def sign_in(self, page, base_url, role, path="/"):
        """Open ``path`` in a browser page signed in through the login form as a ``role`` account made here."""
        username = self.make_account(role)
        page.goto(f"{base_url}/login?next={path}")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}{path}")
        return page

    def sync(self):
        """Run one sync round; return the status (raises SyncFailed)."""
        with self.app.app_context():
            return runtime().sync_client().sync_once()

    def table(self, name):
        """Every row of a table, unmasked, including tombstones, for comparing replicas."""
        with self.rt.store.read() as tx:
            cols = ["id"] + list(self.rt.catalog[name].field_names)
            cols += ["_deleted"] if not self.rt.catalog[name].append_only else []
            return {r[0]: tuple(r[1:]) for r in tx.rows(f"SELECT {', '.join(cols)} FROM {name}")}

    def table_versions(self, row_id, table="residents"):
        """The stored field versions of one row: {field: [hlc, origin]}."""
        with self.rt.store.read() as tx:
            return tx.load_rows(table, [row_id])[row_id][1]

    def conflicts(self):
        """Conflicts this replica recorded."""
        return self.api("GET", "/conflicts").get_json()["conflicts"]


class Cluster:
    """A hub served over HTTP and gate nodes enrolled with it, every replica on its own SQLite file."""

    def __init__(self, tmp_path, node_ids=("east-gate", "building-20"), offsets_ms=None, hub_config=None,
                 start_ms=1_580_700_000_000):
        self.base = ManualClock(start_ms)  # 3 February 2020 by default; None: now
        self.tmp = tmp_path
        hub_clock = lambda: self.base()  # noqa: E731
        self.hub = Replica(create_hub({"DATABASE_URL": hub_database_url(tmp_path), "ADMIN_TOKEN": ADMIN,
                                       "CLOCK": hub_clock, "SQLITE_SYNCHRONOUS": "NORMAL",
                                       **(hub_config or {})},
                                      instance_path=str(tmp_path / "hub")), hub_clock)
        self.server = LiveServer(self.hub.app)
        r = self.hub.api("POST", "/rows/compounds", json={"name": "绿景水岸小区", "city": "新余市"})
        self.compound_id = r.get_json()["id"]
        self.nodes = {}
        offsets_ms = offsets_ms or {}
        for nid in node_ids:
            self.add_node(nid, offsets_ms.get(nid, 0))

    def add_node(self, node_id, offset_ms=0, config=None):
        """Create, register and enrol one node whose clock runs ``offset_ms`` off the hub's."""
        clock = OffsetClock(self.base, offset_ms)
        app = create_node({"DATABASE_URL": f"sqlite:///{self.tmp}/{node_id}.db", "CLOCK": clock, "ADMIN_TOKEN": ADMIN,
                           "SQLITE_SYNCHRONOUS": "NORMAL", "SYNC_TIMEOUT_S": 20, **(config or {})},
                          instance_path=str(self.tmp / node_id))
        code = self.hub.api("POST", "/nodes", json={"id": node_id, "compound_id": self.compound_id}).get_json()["code"]
        enroll_node(app, self.server.url, code)
        node = self.nodes[node_id] = Replica(app, clock)
        node.hub = self.hub
        return node

    def sync_all(self, rounds=2):
        """Sync every node, twice by default so each sees what the others pushed."""
        for _ in range(rounds):
            for n in self.nodes.values():
                n.sync()

    def close(self):
        """Stop the hub's server."""
        self.server.stop()


@pytest.fixture
def cluster(tmp_path):
    """A hub on loopback HTTP with two enrolled nodes, east-gate and building-20."""
    c = Cluster(tmp_path)
    yield c
    c.close()


@pytest.fixture
def gate(cluster):
    """East gate with building 20 (room 1702: 张三, 李四, a Hubei car) and building 1 (room 101: 王五)."""
    from menwei.times import iso
    hub, east = cluster.hub, cluster.nodes["east-gate"]
    cid = cluster.compound_id

    def hub_row(table, **data):
        r = hub.api("POST", f"/rows/{table}", json={"compound_id": cid, **data})
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    g = type("Gate", (), {})()
    g.cluster, g.hub, g.east, g.hub_row = cluster, hub, east, hub_row
    g.b20 = hub_row("buildings", number="20", name="20栋")
    g.b1 = hub_row("buildings", number="1", name="1栋")
    g.h1702 = hub_row("households", building_id=g.b20, room="1702", label="20-1702")
    g.h101 = hub_row("households", building_id=g.b1, room="101", label="1-101")
    g.zhang = hub_row("residents", household_id=g.h1702, name="张三", phone="13812345678")
    g.li = hub_row("residents", household_id=g.h1702, name="李四")
    g.wang = hub_row("residents", household_id=g.h101, name="王五")
    g.car = hub_row("vehicles", household_id=g.h1702, plate="鄂A12345", notes="湖北牌照")
    g.rule = lambda **r: hub_row("control_rules", effective_from=iso(cluster.base()), **r)
    g.sync = lambda: east.sync()

    def check(**body):
        body.setdefault("temperature", 36.5)
        r = east.api("POST", "/gate/checks", json=body)
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    g.check = check
    g.sync()
    return g


def _importable(module):
    """Whether ``module`` can be imported."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _have_cjk_font():
    """Whether fontconfig knows a font that covers Chinese (the desk is drawn in it)."""
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(out.strip())


#: What the browser tests need and how to get each; checked once, by the ``browser`` fixture.
BROWSER_NEEDS = (
    (lambda: HAVE_CHROMIUM, f"Chromium not found at {CHROMIUM}: `apt-get install chromium` (scripts/test.sh does, "
                            "as root) or set MENWEI_CHROMIUM to its path"),
    (_have_cjk_font, "no CJK font (fc-list :lang=zh is empty): `apt-get install fonts-wqy-microhei` "
                     "(scripts/test.sh does, as root)"),
    (lambda: _importable("playwright.sync_api"),
     "Playwright is not installed: `pip install -e '.[test]'` (scripts/bootstrap.sh does)"),
)

#: Skips that are not something missing but a test belonging to the other pass or another platform;
#: under CI every other skip is a failure (scripts/test.sh makes sure the PostgreSQL pass runs).
PASS_SKIPS = ("MENWEI_TEST_PG_URL is not set", "needs PostgreSQL (set MENWEI_TEST_PG_URL", "belongs to the SQLite pass",
              "SQLite's plans", "no fork on this system", "gunicorn runs on POSIX only")
#: How to get what an ``importorskip`` found missing, for the skip message outside CI.
HOW_TO_GET = {"playwright": "install the test extra: `pip install -e '.[test]'` (scripts/bootstrap.sh does)"}


def missing(reason):
    """Skip the test naming what is missing and how to get it; under CI, fail instead."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def _judge_skip(rep):
    """Under CI a skip is a failure unless it belongs to the other pass; elsewhere say how to get what is missing."""
    if not rep.skipped or hasattr(rep, "wasxfail") or not isinstance(rep.longrepr, tuple):
        return
    path, line, reason = rep.longrepr
    if any(p in reason for p in PASS_SKIPS):
        return
    if IN_CI:
        rep.outcome = "failed"
        rep.longrepr = f"CI=true: a skipped test fails the run ({path}:{line}: {reason})"
        return
    for module, how in HOW_TO_GET.items():
        if f"could not import '{module}" in reason and "install" not in reason:
            rep.longrepr = (path, line, f"{reason}: {how}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Skipped tests under CI fail (see ``_judge_skip``)."""
    _judge_skip((yield).get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module skipped whole (``importorskip``) under CI fails too."""
    _judge_skip((yield).get_result())


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole run, driven by Playwright (no browser download)."""
    for have, reason in BROWSER_NEEDS:
        if not have():
            missing(reason)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()
