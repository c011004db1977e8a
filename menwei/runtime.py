"""What a running hub or node holds: its catalog, store, clock, replica and (hub) node register."""
from flask import current_app

from sync.clock import HybridClock, wall_ms
from sync.http_client import SyncClient
from sync.node_registry import NodeRegistry
from sync.sql_checkpoint import WalCheckpointer
from sync.sql_store import SqlStore

from menwei.reports.audit import ActorReplica
from menwei.web.errors import ApiError
from menwei.tables import CATALOG


class Runtime:
    """A replica and its helpers, bound to one Flask app."""

    def __init__(self, app, engine):
        self.role = app.config["ROLE"]
        self.config = app.config
        self.catalog = CATALOG
        rows = app.config["SQLITE_CHECKPOINT_ROWS"]
        checkpointer = WalCheckpointer(engine, rows) if engine.dialect.name == "sqlite" and rows else None
        self.store = SqlStore(engine, CATALOG, checkpointer)
        self.wall = app.config.get("CLOCK") or wall_ms
        self.clock = HybridClock(self.wall)
        self._replica = None
        self._client = None
        self.registry = NodeRegistry(self.store, self.wall) if self.role == "hub" else None
        if self.role == "hub":
            self._replica = ActorReplica(self.store, CATALOG, app.config["HUB_ID"], self.clock)

    def state(self, key, default=None):
        """Read one value of the replica's persistent state (works before enrolment)."""
        with self.store.read() as tx:
            return tx.get_state(key, default)

    @property
    def enrolled(self):
        """Whether this node has a replica id (the hub always has)."""
        return self._replica is not None or self.state("replica_id") is not None

    @property
    def replica(self):
        """The replica; a node that has not enrolled yet has none and says how to enrol."""
        if self._replica is None:
            rid = self.state("replica_id")
            if rid is None:
                raise ApiError(409, "this node is not enrolled yet: run `menwei node enroll --hub URL --code CODE`",
                               code="not_enrolled")
            self._replica = ActorReplica(self.store, CATALOG, rid, self.clock, hub=False)
        return self._replica

    @property
    def compound_id(self):
        """The compound this node serves (None at the hub, which serves all)."""
        return None if self.role == "hub" else self.state("compound_id")

    def attempt_wait(self, key, limit):
        """Seconds an attempt keyed ``key`` must still wait after failures (menwei.accounts.throttle); 0 to go ahead."""
        from menwei.accounts import throttle
        with self.store.read() as tx:
            return throttle.wait_s(tx, key, limit, self.wall())

    def attempt_failed(self, key):
        """Count a failed attempt keyed ``key`` (a wrong enrolment code from an address)."""
        from menwei.accounts import throttle
        with self.store.write() as tx:
            throttle.record_failure(tx, (key,), self.wall())

    def sync_client(self):
        """The node's client for its hub, built from the enrolment stored in its database."""
        if self._client is None:
            hub_url, token = self.state("hub_url"), self.state("token")
            if not hub_url or not token:
                raise ApiError(409, "this node is not enrolled yet: run `menwei node enroll --hub URL --code CODE`",
                               code="not_enrolled")
            cfg = self.config
            self._client = SyncClient(self.replica, hub_url, token, CATALOG.schema_version,
                                      push_batch=cfg["PUSH_BATCH"], pull_limit=cfg["PULL_LIMIT"],
                                      timeout=cfg["SYNC_TIMEOUT_S"], max_batch=cfg["MAX_BATCH"],
                                      skew_bound_ms=cfg["SKEW_BOUND_S"] * 1000)
        return self._client

    def save_enrolment(self, hub_url, answer):
        """Store what the hub answered an enrolment with: our id, compound, token and hub."""
        with self.store.write() as tx:
            old = tx.get_state("replica_id")
            if old not in (None, answer["node_id"]):
                raise ApiError(409, f"this database already belongs to node {old}; use a new data directory",
                               code="already_enrolled")
            for key in ("node_id", "compound_id", "token"):
                tx.set_state("replica_id" if key == "node_id" else key, answer[key])
            tx.set_state("hub_url", hub_url.rstrip("/"))
            tx.set_state("hub_id", answer["hub_id"])
        self._replica = self._client = None


def runtime():
    """Return the current app's Runtime."""
    return current_app.extensions["menwei"]
