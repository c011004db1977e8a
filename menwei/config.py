"""Configuration, read in one place: defaults, then the instance file, then MENWEI_* environment variables.

Every key is declared once, in SETTINGS; docs/configuration.md shows the same table, rewritten by
``python -m menwei.config`` (a test fails when the page is stale or the code reads an undeclared key).
"""
import os
import sys
from dataclasses import dataclass
from datetime import timedelta

ENV_PREFIX = "MENWEI_"
DOC_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "configuration.md")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Setting:
    """One configuration key: its default (None: unset), what it means, and the default as documented."""

    key: str
    default: object
    meaning: str
    shown: str | None = None
    kind: type = str
    env_only: bool = False  # read before the configuration is (the data directory itself)

    @property
    def documented_default(self):
        """The default as the table shows it."""
        return self.shown if self.shown is not None else "(none)" if self.default is None else str(self.default)


def _s(key, default, meaning, shown=None, env_only=False):
    kind = type(default) if default is not None else str
    return Setting(key, default, meaning, shown, kind, env_only)


SETTINGS = (
    _s("DATA_DIR", None, "the folder of the database and `menwei.cfg` (environment or `--data-dir` only)",
       "menwei-data/hub or menwei-data/node", env_only=True),
    _s("DATABASE_URL", None, "SQLAlchemy URL of this replica's database, e.g. "
       "`postgresql+psycopg://menwei:…@db/menwei` for a large hub", "sqlite:///<data dir>/<role>.db"),
    _s("AUTO_UPGRADE", False, "upgrade an older database on start (a copy is backed up first); else refuse and "
       "say to run `menwei <role> upgrade`", "node: true, hub: false"),
    _s("HUB_ID", "hub", "the hub's replica id"),
    _s("TIMEZONE", "Asia/Shanghai", "the compound's local time zone (rosters, printed times)"),
    _s("SKEW_BOUND_S", 300, "a change stamped further ahead of the hub's clock is refused"),
    _s("MAX_BATCH", 20_000, "most changes one push may carry (more: HTTP 413)"),
    _s("MAX_BODY_MB", 64, "largest request body, compressed or not (more: HTTP 413)"),
    _s("PUSH_BATCH", 10_000, "changes a node sends per push request"),
    # 1,000 keeps a node catching up on a long backlog within its 80 MB: replaying 200,000 or 1,000,000 events
    # peaked at 76-77 MB with 1,000-change pages, 82-86 MB with 2,000 (bench/bootstrap.py), for up to 8 % more time.
    _s("PULL_LIMIT", 1000, "changes a node asks for per pull request"),
    _s("SYNC_INTERVAL_S", 5.0, "seconds between background syncs while the hub answers"),
    _s("SYNC_BACKOFF_MAX_S", 300.0, "longest wait between retries while it does not"),
    _s("SYNC_TIMEOUT_S", 60.0, "HTTP timeout of one sync request"),
    _s("SQLITE_SYNCHRONOUS", "FULL", "SQLite's synchronous pragma (FULL: an answered write survives power loss)"),
    # 2 MiB is SQLite's own default: at a million events a gate check's p99 was the same as with 4 MiB
    # (6.0 vs 6.7 ms) and a snapshot bootstrap's peak 5 MB lower (75 vs 80 MB; bench/bootstrap.py).
    _s("SQLITE_CACHE_KB", 2048, "SQLite page cache per connection, in KiB (a gate laptop is small)",
       "node: 2048, hub: 65536"),
    _s("SQLITE_WAL_AUTOCHECKPOINT", 10_000, "WAL pages (4 KiB) past which a commit itself copies them back into "
       "the database: the backstop of the background checkpoint"),
    _s("SQLITE_CHECKPOINT_ROWS", 1000, "rows written after which a background thread copies the WAL back into the "
       "database, so no commit waits for it (0: leave it all to the backstop)"),
    _s("SECRET_KEY", None, "signs session cookies", "made once, kept in the database"),
    _s("ADMIN_TOKEN", None, "a coordinator API token given in config (`menwei hub init` stores a hashed one instead)"),
    _s("SESSION_HOURS", 12.0, "a browser session ends this long after sign-in (one gate shift and some)"),
    _s("SESSION_COOKIE_SECURE", False, "send the session cookie over HTTPS only: set it when nginx serves TLS"),
    _s("LOGIN_MAX_FAILURES", 5, "failed sign-ins per username in 15 minutes before more are refused (×4 per address)"),
    _s("OUTAGE_GAP_S", 300, "hub: a node not heard from for longer than this was offline (outage reports)"),
    _s("LATE_AFTER_S", 300, "hub: a change reaching the hub this long after it was made arrived late"),
    _s("RETENTION_DAYS", 30.0, "hub: `menwei hub compact` prunes the change log behind the nodes that pulled this "
       "recently; a node silent longer whose missing changes were pruned takes a snapshot again"),
    _s("CONTACTS_RETENTION_DAYS", 180.0, "hub: `menwei hub compact` drops node visits (outage and late-arrival "
       "reports) older than this"),
    _s("PROXY_COUNT", 0, "reverse proxies in front (nginx: 1): trust that many X-Forwarded-For/-Proto hops, so "
       "sign-in limits count the real client address"),
)
BY_KEY = {s.key: s for s in SETTINGS}
DEFAULTS = {s.key: s.default for s in SETTINGS if s.default is not None and not s.env_only}
ROLE_DEFAULTS = {"hub": {"SQLITE_CACHE_KB": 65536, "AUTO_UPGRADE": False}, "node": {"AUTO_UPGRADE": True}}
#: Keys the code reads that are not settings: derived here from the settings, or Flask's own, or test hooks.
DERIVED = ("ROLE", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", "MAX_CONTENT_LENGTH",
           "PERMANENT_SESSION_LIFETIME", "SESSION_COOKIE_SAMESITE", "TESTING", "CLOCK")


def parse_value(key, text):
    """Turn an environment variable's text into the type of its setting; ValueError names the key."""
    kind = BY_KEY[key].kind if key in BY_KEY else str
    if kind is bool:
        low = text.strip().lower()
        if low not in _TRUE | _FALSE:
            raise ValueError(f"{ENV_PREFIX}{key}={text!r}: use true or false")
        return low in _TRUE
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{key}={text!r}: must be {kind.__name__}") from None


def load_config(app, role, test_config=None):
    """Fill ``app.config`` for a hub or node: defaults, instance file ``menwei.cfg``, env, test overrides."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(ROLE_DEFAULTS[role])
    app.config["ROLE"] = role
    if test_config is None:
        app.config.from_pyfile("menwei.cfg", silent=True)
        for key, value in os.environ.items():
            if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX):] != "DATA_DIR":
                name = key[len(ENV_PREFIX):]
                app.config[name] = parse_value(name, value)
    else:
        app.config.from_mapping(test_config)
    if not app.config.get("DATABASE_URL"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, f"{role}.db")
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    # SQL logging, if ever switched on, must not print ID numbers or phones bound as parameters.
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"hide_parameters": True})
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_HOURS"])
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_MB"] * 1024 * 1024
    return app.config


def _cell(text):
    return text.replace("|", "\\|")


def config_table():
    """The Markdown table of every setting, as docs/configuration.md shows it."""
    lines = ["| key | environment variable | default | meaning |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        lines.append(f"| {s.key} | {ENV_PREFIX}{s.key} | {_cell(s.documented_default)} | {_cell(s.meaning)} |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- settings table: generated by `python -m menwei.config` -->", "<!-- end of settings table -->"


def render_doc(current):
    """The configuration page with its table replaced by the current one."""
    head, _, rest = current.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{config_table()}{END}{tail}"


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else DOC_PATH
    with open(path, encoding="utf-8") as f:
        text = render_doc(f.read())
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path}")
