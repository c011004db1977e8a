"""HTTP adapter of a node's sync role: push the outbox, pull the hub's changes, in the background too."""
import gzip
import json
import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import orjson

import requests
from marshmallow import ValidationError

from .recovery import Recovery
from .replica import paused_gc
from .snapshot import apply_snapshot, start_progress
from .wire import PushResponse, pull_response_schema, snapshot_page_schema

log = logging.getLogger("menwei.sync")


class SyncFailed(Exception):
    """A sync round could not complete; the message says why and what to do."""

    def __init__(self, message, code=None, status=None):
        super().__init__(message)
        self.code, self.status = code, status


#: How many refused (parked) changes the sync status lists, the newest.
PARKED_KEPT = 100


@dataclass
class SyncStatus:
    """What a node knows about its sync with the hub."""

    last_success_ms: int | None = None
    last_attempt_ms: int | None = None
    last_error: str | None = None
    last_error_code: str | None = None
    skew_ms: int | None = None
    skew_alarm: bool = False
    pending: int = 0
    pushed: int = 0
    pulled: int = 0
    rounds: int = 0
    extra: dict = field(default_factory=dict)
    #: own changes the hub refused by its write policy, newest last (at most PARKED_KEPT): kept here,
    #: never merged at the hub, shown by the sync status so a coordinator can see what did not travel
    parked: list = field(default_factory=list)


class SyncClient:
    """Pushes a replica's own changes to the hub and pulls everyone else's."""

    def __init__(self, replica, hub_url, token, schema_version, push_batch=5000, pull_limit=5000,
                 timeout=60.0, max_batch=20_000, skew_bound_ms=300_000, session=None):
        self.replica, self.hub_url, self.token = replica, hub_url.rstrip("/"), token
        self.schema_version, self.push_batch, self.pull_limit = schema_version, push_batch, pull_limit
        self.timeout, self.skew_bound_ms = timeout, skew_bound_ms
        self.http = session or _session()
        self.pull_schema = pull_response_schema(replica.catalog, max(max_batch, pull_limit))
        self.snapshot_schema = snapshot_page_schema(replica.catalog, max(max_batch, pull_limit))
        self.status = SyncStatus(**replica.get_state("sync_status", {}))
        self._lock = threading.Lock()
        self.recovery = Recovery(self)
        self._hub_has = None  # the hub's highest number from us, as its last pull answer said

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}", "Accept-Encoding": "gzip"}

    def _check(self, resp):
        if resp.status_code == 200:
            try:
                return orjson.loads(resp.content)
            except orjson.JSONDecodeError:
                raise SyncFailed("the hub's answer is not JSON", "bad_answer", 200) from None
        try:
            body = resp.json()
            msg, code = body.get("error", resp.reason), body.get("code")
        except ValueError:
            msg, code = f"HTTP {resp.status_code} {resp.reason}", None
        raise SyncFailed(msg, code, resp.status_code)

    def pending(self):
        """Return how many of this replica's changes the hub has not acknowledged."""
        return self.replica.own_seq() - self.replica.get_state("pushed_seq", 0)

    def _prepare(self, after_lseq, pending):
        """Read the next outbox batch after a log position and encode it: ([(lseq, seq)], gzipped body)."""
        with paused_gc():
            return self._encode(after_lseq, pending)

    def _encode(self, after_lseq, pending):
        rows = self.replica.outbox_json(after_lseq, self.push_batch, self.replica.get_state("pushed_seq", 0))
        if not rows:
            return [], None
        head = orjson.dumps({"node_id": self.replica.id, "schema_version": self.schema_version,
                             # an estimate: checks written while a push runs can make it dip below 0
                             "clock_ms": self.replica.clock.wall(), "pending": max(0, pending)})[:-1]
        body = head + b',"changes":[' + ",".join(text for _, _, text in rows).encode() + b"]}"
        return [(lseq, seq) for lseq, seq, _ in rows], gzip.compress(body, compresslevel=1)

    def push(self):
        """Send the outbox in batches until it is empty; return how many changes the hub accepted.

        While the hub merges one batch the next is read and encoded in a second thread, so the
        node's work and the hub's overlap.
        """
        sent, realigned = 0, 0
        if self.recovery.pending:
            self.recovery.run()
        pending = self.pending()
        batch, body = self._prepare(self.replica.get_state("pushed_lseq", 0), pending)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="menwei-push") as ahead:
            while batch:
                upcoming = ahead.submit(self._prepare, batch[-1][0], pending - len(batch))
                resp = self.http.post(self.hub_url + "/sync/v1/push", data=body,
                                      headers={**self._headers(), "Content-Type": "application/json",
                                               "Content-Encoding": "gzip"}, timeout=self.timeout)
                try:
                    ans = PushResponse().load(self._check(resp))
                except SyncFailed as e:
                    if realigned >= 3 or not self._realign(e, resp, batch):
                        raise
                    ans = None
                except ValidationError as e:
                    raise SyncFailed(f"the hub's push answer is malformed: {e.messages}", "bad_answer") from None
                last_seq = batch[-1][1]
                if ans is not None and ans["acked_seq"] > last_seq and realigned < 3:
                    # The hub has more of ours than we sent: an answer was lost, or we lost changes.
                    self.recovery.run(ans["acked_seq"])
                    ans = None
                if ans is None:  # start again from where the hub and we now agree we are
                    realigned += 1
                    upcoming.cancel()
                    pending = self.pending()
                    batch, body = self._prepare(self.replica.get_state("pushed_lseq", 0), pending)
                    continue
                if ans["acked_seq"] != last_seq:
                    raise SyncFailed(f"the hub acknowledged change {ans['acked_seq']} after we sent up to "
                                     f"{last_seq}", "bad_ack")
                self.status.skew_ms = ans["skew_ms"]
                self.replica.set_states({"pushed_lseq": batch[-1][0], "pushed_seq": last_seq})
                self.replica.drop_buried([(t, i) for t, i in ans["buried"] if t in self.replica.catalog])
                self._park(ans["refused"])
                sent += ans["applied"]
                pending -= len(batch)
                batch, body = upcoming.result()
        return sent

    def _park(self, refused):
        """Note changes the hub refused by policy: the queue moves on past them, and the status shows them."""
        if not refused:
            return
        for r in refused:
            log.warning("the hub refused change %s (%s %s): %s", r["seq"], r["table"], r["id"], r["code"])
        parked = self.status.parked + [{"seq": r["seq"], "table": r["table"], "id": r["id"], "code": r["code"],
                                        "fields": r["fields_"], "at_ms": self.replica.clock.wall()}
                                       for r in refused]
        self.status.parked = parked[-PARKED_KEPT:]
        self._save()

    def _realign(self, e, resp, batch):
        """After a refused push, line the outbox up with what the hub has; return True to push again."""
        if e.code == "sequence_gap":
            return self._rewind(resp.json().get("expected_seq", 1), batch)
        if e.code == "sequence_reused":  # we reuse numbers the hub holds: we lost changes it has
            self.recovery.run(resp.json().get("hub_seq", 0))
            return True
        return False

    def _rewind(self, expected, batch):
        """The hub lacks changes it once acknowledged (restored from a backup?): resend from there."""
        if expected - 1 >= batch[0][1]:
            return False  # it has more than we think we sent: not something a resend can fix
        self.replica.set_states({"pushed_lseq": self.replica.log_position_of(expected - 1) if expected > 1 else 0,
                                 "pushed_seq": expected - 1})
        return True

    def pull(self):
        """Fetch and merge the hub's changes until none are left; return how many were new.

        A bootstrap left unfinished is finished first; a hub that has compacted away changes this
        node never pulled (HTTP 410, ``rebootstrap``) sends its compound as a snapshot instead.
        """
        got, rebooted = 0, False
        if self.replica.get_state("bootstrap") is not None:
            self.bootstrap()
        while True:
            page = self._pull_page(self.replica.get_state("cursor", 0), rebooted)
            if page is None:  # the hub compacted changes this node never pulled
                rebooted = True
                log.warning("the hub compacted changes this node never pulled: bootstrapping from a snapshot")
                self.bootstrap()
                continue
            self.status.skew_ms = self.replica.clock.wall() - page["hub_clock_ms"]
            got += self.replica.apply_remote(page["changes"], state={"cursor": page["cursor"]}).applied
            if not page["more"]:
                self._hub_has = page.get("node_seq")
                return got
            page = None  # let it go before the next one arrives: a node is small

    def _pull_page(self, cursor, rebooted):
        """Fetch and check one pull page; None when the hub asks for a snapshot instead (once per pull)."""
        resp = self.http.get(self.hub_url + "/sync/v1/pull", headers=self._headers(), timeout=self.timeout,
                             params={"cursor": cursor, "limit": self.pull_limit, "schema_version": self.schema_version,
                                     "clock_ms": self.replica.clock.wall(), "pending": self.pending()})
        if resp.status_code == 410 and _code(resp) == "rebootstrap" and not rebooted:
            return None
        try:
            return self.pull_schema.load(self._check(resp))
        except ValidationError as e:
            raise SyncFailed(f"the hub sent changes this node cannot read: {_first(e.messages)}",
                             "bad_answer") from None

    def own_changes(self, after_seq, cursor):
        """Fetch a page of this node's own changes numbered after ``after_seq`` back from the hub (recovery)."""
        resp = self.http.get(self.hub_url + "/sync/v1/own", headers=self._headers(), timeout=self.timeout,
                             params={"after": after_seq, "cursor": cursor, "limit": self.pull_limit,
                                     "schema_version": self.schema_version, "clock_ms": self.replica.clock.wall()})
        try:
            return self.pull_schema.load(self._check(resp))
        except ValidationError as e:
            raise SyncFailed(f"the hub sent changes this node cannot read: {_first(e.messages)}",
                             "bad_answer") from None

    def bootstrap(self):
        """Take in the compound's current state as a snapshot and the cursor to pull from after it.

        Page by page, each merged with the progress made after it (see snapshot.apply_snapshot), so an
        interrupted bootstrap resumes where it stopped; the node's unsent changes stay queued. The next
        page is fetched while this one is merged. Returns the rows received.
        """
        progress = self.replica.get_state("bootstrap")
        if progress is None:
            # Saved before the first request: a node whose bootstrap fails at once still bootstraps,
            # not replays, on its next sync.
            progress = start_progress(self.replica, self.replica.get_state("pushed_lseq", 0))
            self.replica.set_state("bootstrap", progress)
        scope = self.replica.get_state("compound_id")
        pending = self.pending()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="menwei-snapshot") as ahead:
            page = self._snapshot_page(progress["table"], progress["after"], pending)
            if progress["cursor"] is None:
                if "cursor" not in page or "seen" not in page:
                    raise SyncFailed("the hub's first snapshot page has no cursor", "bad_answer")
                progress.update(cursor=page["cursor"], seen=page["seen"])

            def fetch_after(done):
                nxt = done["next"]
                return ahead.submit(self._snapshot_page, nxt["table"], nxt["after"], pending) if nxt else None
            return apply_snapshot(self.replica, page, fetch_after, progress, scope, progress["unsent_after"])

    def _snapshot_page(self, table, after, pending):
        """Fetch and check one snapshot page (the first one when ``table`` is None)."""
        params = {"limit": min(self.pull_limit, 1000), "schema_version": self.schema_version,
                  "clock_ms": self.replica.clock.wall(), "pending": pending}
        if table is not None:
            params["table"] = table
            if after is not None:
                params["after"] = after
        resp = self.http.get(self.hub_url + "/sync/v1/snapshot", headers=self._headers(), timeout=self.timeout,
                             params=params)
        try:
            with paused_gc():
                return self.snapshot_schema.load(self._check(resp))
        except ValidationError as e:
            raise SyncFailed(f"the hub sent a snapshot this node cannot read: {_first(e.messages)}",
                             "bad_answer") from None

    def sync_once(self):
        """Run one full round (push, then pull) and record the outcome; raise SyncFailed on failure."""
        with self._lock:
            st = self.status
            st.last_attempt_ms = self.replica.clock.wall()
            st.rounds += 1
            push_error = None
            try:
                try:
                    st.pushed += self.push()
                except SyncFailed as e:
                    if e.code not in ("clock_skew",):
                        raise
                    push_error = e  # our changes stay queued; still take in everyone else's
                st.pulled += self.pull()
                if push_error:
                    raise push_error
                if self._hub_has is not None and self._hub_has > self.replica.get_state("pushed_seq", 0):
                    # The hub has changes of ours we do not (restored from a backup, nothing new to push yet).
                    st.pulled += self.recovery.run(self._hub_has)
                    st.pushed += self.push()
            except requests.RequestException as e:
                self._failed(SyncFailed(f"hub unreachable: {type(e).__name__}", "unreachable"))
                raise self._last from None
            except SyncFailed as e:
                self._failed(e)
                raise
            st.last_success_ms = self.replica.clock.wall()
            st.last_error = st.last_error_code = None
            st.skew_alarm = st.skew_ms is not None and abs(st.skew_ms) > self.skew_bound_ms
            st.pending = self.pending()
            self._save()
            return st

    def _failed(self, e):
        self._last = e
        st = self.status
        st.last_error, st.last_error_code = str(e), e.code
        st.skew_alarm = e.code == "clock_skew" or (st.skew_ms is not None and abs(st.skew_ms) > self.skew_bound_ms)
        st.pending = self.pending()
        log.warning("sync failed: %s", e)
        self._save()

    def _save(self):
        self.replica.set_state("sync_status", {k: v for k, v in asdict(self.status).items()})


def _session():
    """An HTTP session that resends a request once when the connection fails before any answer.

    A kept-alive connection the hub (gunicorn, nginx) closed as idle at the moment we reuse it fails
    with no answer at all; a second try on a fresh connection settles it. Resending is safe: a push
    the hub already applied is acknowledged again as duplicates, and the other requests only read.
    """
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
    s = requests.Session()
    retry = Retry(total=1, connect=1, read=1, status=0, other=0, allowed_methods=None, backoff_factor=0,
                  raise_on_status=False, respect_retry_after_header=False)
    s.mount("http://", HTTPAdapter(max_retries=retry))
    s.mount("https://", HTTPAdapter(max_retries=retry))
    return s


def _code(resp):
    try:
        return resp.json().get("code")
    except ValueError:
        return None


def _first(messages):
    text = json.dumps(messages, ensure_ascii=False)
    return text[:300]


class BackgroundSync:
    """Syncs every few seconds while the hub answers, backing off exponentially with jitter while it doesn't."""

    def __init__(self, client, interval_s=5.0, backoff_max_s=300.0, rng=None):
        self.client, self.interval_s, self.backoff_max_s = client, interval_s, backoff_max_s
        self.rng = rng or random.Random()
        self.failures = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="menwei-sync", daemon=True)

    def start(self):
        """Start the background thread."""
        self.thread.start()
        return self

    def stop(self, timeout=10):
        """Ask the thread to stop and wait for the current round to finish."""
        self._stop.set()
        self._wake.set()
        self.thread.join(timeout)

    def poke(self):
        """Sync now instead of waiting for the next round."""
        self._wake.set()

    def next_delay(self):
        """Seconds to wait before the next round, given consecutive failures so far."""
        if self.failures == 0:
            return self.interval_s
        cap = min(self.backoff_max_s, self.interval_s * 2 ** min(self.failures, 16))
        return self.rng.uniform(self.interval_s, cap)  # full jitter: gates don't retry in lockstep

    def _run(self):
        while not self._stop.is_set():
            try:
                self.client.sync_once()
                self.failures = 0
            except SyncFailed:
                self.failures += 1
            except Exception:  # a bug must not kill the gate's sync for good; it is logged and retried
                log.exception("unexpected error during sync")
                self.failures += 1
            self._wake.wait(self.next_delay())
            self._wake.clear()
