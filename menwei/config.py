"""Configuration, read in one place: defaults, then the instance file, then MENWEI_* environment variables.

| key | default | meaning |
| --- | --- | --- |
| DATABASE_URL | sqlite:///<instance>/<role>.db | SQLAlchemy URL of this replica's database |
| HUB_ID | hub | the hub's replica id |
| TIMEZONE | Asia/Shanghai | the compound's local time zone (rosters, printed times) |
| SKEW_BOUND_S | 300 | a change stamped further ahead of the hub's clock is refused |
| MAX_BATCH | 20000 | most changes one push may carry (more: HTTP 413) |
| MAX_BODY_MB | 64 | largest request body, compressed or not (more: HTTP 413) |
| PUSH_BATCH | 10000 | changes a node sends per push request |
| PULL_LIMIT | 2000 | changes a node asks for per pull request |
| SYNC_INTERVAL_S | 5 | seconds between background syncs while the hub answers |
| SYNC_BACKOFF_MAX_S | 300 | longest wait between retries while it does not |
| SYNC_TIMEOUT_S | 60 | HTTP timeout of one sync request |
| SQLITE_SYNCHRONOUS | FULL | SQLite's synchronous pragma (FULL: an answered write survives power loss) |
| SQLITE_CACHE_KB | 4096 (hub: 65536) | SQLite page cache per connection, in KiB (a gate laptop is small) |
| SQLITE_WAL_AUTOCHECKPOINT | 1000 | WAL pages before SQLite copies them back into the database |
| SECRET_KEY | made once, kept in the database | signs session cookies |
| ADMIN_TOKEN | (none) | a coordinator API token given in config (`menwei hub init` stores a hashed one instead) |
| SESSION_HOURS | 12 | a browser session ends this long after sign-in (one gate shift and some) |
| LOGIN_MAX_FAILURES | 5 | failed sign-ins per username in 15 minutes before more are refused (×4 per address) |
| OUTAGE_GAP_S | 300 | hub: a node not heard from for longer than this was offline (outage reports) |
| LATE_AFTER_S | 300 | hub: a change reaching the hub this long after it was made arrived late |
| RETENTION_DAYS | 30 | hub: `menwei hub compact` prunes the change log behind nodes seen this recently; a node silent longer re-bootstraps |
| CONTACTS_RETENTION_DAYS | 180 | hub: `menwei hub compact` drops node visits (outage and late-arrival reports) older than this |
"""
import os
from datetime import timedelta

DEFAULTS = {
    "HUB_ID": "hub",
    "TIMEZONE": "Asia/Shanghai",
    "SKEW_BOUND_S": 300,
    "MAX_BATCH": 20_000,
    "MAX_BODY_MB": 64,
    "PUSH_BATCH": 10_000,
    "PULL_LIMIT": 2000,
    "SYNC_INTERVAL_S": 5.0,
    "SYNC_BACKOFF_MAX_S": 300.0,
    "SYNC_TIMEOUT_S": 60.0,
    "SQLITE_SYNCHRONOUS": "FULL",
    "SQLITE_CACHE_KB": 4096,
    "SQLITE_WAL_AUTOCHECKPOINT": 1000,
    "SESSION_HOURS": 12.0,
    "LOGIN_MAX_FAILURES": 5,
    "OUTAGE_GAP_S": 300,
    "LATE_AFTER_S": 300,
    "RETENTION_DAYS": 30.0,
    "CONTACTS_RETENTION_DAYS": 180.0,
}
_INTS = {"SKEW_BOUND_S", "MAX_BATCH", "MAX_BODY_MB", "PUSH_BATCH", "PULL_LIMIT", "SQLITE_CACHE_KB",
         "SQLITE_WAL_AUTOCHECKPOINT", "LOGIN_MAX_FAILURES", "OUTAGE_GAP_S", "LATE_AFTER_S"}
_FLOATS = {"SYNC_INTERVAL_S", "SYNC_BACKOFF_MAX_S", "SYNC_TIMEOUT_S", "SESSION_HOURS", "RETENTION_DAYS",
           "CONTACTS_RETENTION_DAYS"}
ENV_PREFIX = "MENWEI_"


def load_config(app, role, test_config=None):
    """Fill ``app.config`` for a hub or node: defaults, instance file ``menwei.cfg``, env, test overrides."""
    app.config.from_mapping(DEFAULTS)
    app.config["ROLE"] = role
    if role == "hub":
        app.config["SQLITE_CACHE_KB"] = 65536
    if test_config is None:
        app.config.from_pyfile("menwei.cfg", silent=True)
        for key, value in os.environ.items():
            if key.startswith(ENV_PREFIX):
                name = key[len(ENV_PREFIX):]
                app.config[name] = int(value) if name in _INTS else float(value) if name in _FLOATS else value
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
