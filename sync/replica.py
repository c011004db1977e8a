"""A replica: local writes stamped by its clock, remote changes merged, and the log both feed.

The same class serves a gate node and the hub; the hub merely also answers pushes and pulls.
It takes its store and clock as parameters and imports no web or database framework.
"""
import gc
from contextlib import contextmanager
from dataclasses import dataclass

import orjson

from .changelog import fresh_changes, next_cursor
from .merge import merge_batch, merge_fields
from .policy import FOREIGN_REFERENCE, HUB_ONLY, CompoundsOfRows, hub_only_message
from .tables import DELETED


@contextmanager
def paused_gc():
    """Hold the cyclic garbage collector while a batch is merged.

    Merging allocates tens of thousands of short-lived, acyclic dicts, which would otherwise trigger
    repeated full collections over the whole heap; reference counting frees them all the same.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _dumps(value):
    return orjson.dumps(value).decode()


def _change_json(origin, seq, hlc, table, row_id, data, prev):
    """Render one logged change as wire JSON, splicing in its stored data and prev texts."""
    head = f'{{"origin":{_dumps(origin)},' if origin is not None else "{"
    return (f'{head}"seq":{seq},"hlc":{hlc},"table":"{table}","id":{_dumps(row_id)},"data":{data}'
            + (f',"prev":{prev}}}' if prev else "}"))


class WriteError(Exception):
    """A local write was refused; ``status`` is the HTTP status it maps to, ``errors`` names fields."""

    def __init__(self, message, status=400, errors=None):
        super().__init__(message)
        self.status, self.errors = status, errors or {}


class ScopeError(Exception):
    """A node tried to write rows outside its own compound."""


@dataclass
class ApplyResult:
    """What merging a batch of remote changes did."""

    applied: int
    duplicates: int
    conflicts: int
    seen: dict
    orphans: int = 0  # edits of rows the hub compacted away, dropped (see apply_remote)
    buried: list = None  # [(table, id)] of those whose rows are gone for good (the graveyard)
    refused: list = None  # [{seq, table, id, code, fields}] refused by the write policy (sync.policy)


class Replica:
    """One replica's view of the replicated data."""

    def __init__(self, store, catalog, replica_id, clock, hub=True):
        """``hub`` False: a node, which may not write the catalog's hub-only tables (sync.policy)."""
        self.store, self.catalog, self.id, self.clock = store, catalog, replica_id, clock
        self.hub = hub
        with store.read() as tx:
            clock.observe(tx.max_hlc())  # stamps stay monotonic across restarts and clock jumps

    # -- local writes ----------------------------------------------------------------------
    def insert(self, table, row_id, data):
        """Create one row; return its change."""
        return self.write([(table, row_id, data)], create=True)[0]

    def update(self, table, row_id, data):
        """Change fields of an existing, undeleted row; return its change."""
        return self.write([(table, row_id, data)], create=False)[0]

    def delete(self, table, row_id):
        """Delete a row with a tombstone; return its change."""
        return self.write([(table, row_id, {DELETED: True})], create=False)[0]

    def write(self, writes, create=None, before_commit=None):
        """Apply local writes [(table, id, data)] in one transaction and log one change each.

        ``create`` True requires each row to be new, False requires it to exist (and not be
        deleted), None accepts either. Raises WriteError, leaving nothing written.
        ``before_commit(tx, changes)`` runs last inside the same transaction.
        """
        with self.store.write() as tx:
            own = tx.seen_origins().get(self.id, 0)
            rows = self._load(tx, writes)
            appended_ids = {}
            for tname, _, _ in writes:
                if self.catalog[tname].append_only and tname not in appended_ids:
                    ids = [rid for t, rid, _ in writes if t == tname]
                    appended_ids[tname] = tx.existing_ids(tname, ids)
            # Another process (a second hub worker, the import CLI) may have stamped these rows with a
            # clock ahead of ours: move past every version we are about to overwrite, or our write
            # would lose to an older one.
            seen_stamps = [v[0] for table_rows in rows.values() for _values, versions in table_rows.values()
                           for v in versions.values()]
            if seen_stamps:
                self.clock.observe(max(seen_stamps))
            first = self.clock.reserve(len(writes))
            changes = []
            view = {}  # rows as earlier writes of this same call left them
            compounds = CompoundsOfRows(self.catalog, tx, [(self.catalog[t], d) for t, _, d in writes])
            for i, (tname, row_id, data) in enumerate(writes):
                table = self.catalog[tname]
                data = table.normalised(data)
                if table.append_only:
                    existing, exists = None, row_id in appended_ids[tname]
                else:
                    existing = view.get((tname, row_id))
                    if existing is None:
                        stored = rows.get(tname, {}).get(row_id)
                        existing = [dict(stored[0]), dict(stored[1])] if stored else None
                    exists = existing is not None and not existing[0].get(DELETED, False)
                self._check_write(table, row_id, data, existing, exists, create)
                self._check_policy(table, row_id, data, existing, compounds)
                prev = None
                if existing is not None:
                    prev = {k: existing[1][k] for k in data if k in existing[1]} or None
                ch = {"origin": self.id, "seq": own + i + 1, "hlc": first + i, "table": tname,
                      "id": row_id, "data": data}
                if prev:
                    ch["prev"] = prev
                changes.append(ch)
                if table.append_only:
                    appended_ids[tname].add(row_id)
                else:
                    existing = existing or [{}, {}]
                    merge_fields(tname, row_id, existing[0], existing[1], data, ch["hlc"], self.id, prev, [])
                    view[(tname, row_id)] = existing
            self._commit(tx, changes, rows, {t: set() for t in appended_ids}, {self.id: own + len(writes)})
            if before_commit is not None:
                before_commit(tx, changes)
        return changes

    def writer_scopes(self):
        """The compounds the current writer may write, or None for any (overridden by the web app's replica)."""
        return None

    def _check_policy(self, table, row_id, data, existing, compounds):
        """Refuse what the catalog's write policy forbids here (WriteError 403 naming it)."""
        if table.hub_only and not self.hub:
            raise WriteError(hub_only_message(table), 403, {table.name: HUB_ONLY})
        scope = table.scope_of(row_id, data)
        if scope is None and existing is not None:
            scope = table.scope_of(row_id, existing[0])
        allowed = self.writer_scopes()
        if allowed is not None and scope not in allowed:
            raise WriteError(f"this writer does not serve compound {scope}", 403,
                             {table.scope or "compound_id": "not a compound this writer serves"})
        problems = compounds.problems(table, data, scope)
        if problems:
            raise WriteError(next(iter(problems.values())), 403, problems)
        compounds.made(table, row_id, scope)

    def _check_write(self, table, row_id, data, existing, exists, create):
        if create is True and exists or (table.append_only and exists):
            raise WriteError(f"{table.name} {row_id} already exists", 409)
        if create is False and not exists:
            raise WriteError(f"no {table.name} with id {row_id}", 404)
        errors = table.check_data(data, creating=not exists)
        if errors:
            raise WriteError("invalid " + table.name, 400, errors)
        if table.scope not in (None, "id") and existing is not None and table.scope in data \
                and existing[0].get(table.scope) not in (None, data[table.scope]):
            raise WriteError("a row cannot move to another compound", 400, {table.scope: "cannot be changed"})

    # -- remote changes --------------------------------------------------------------------
    def apply_remote(self, changes, origin=None, contiguous=False, skew_bound_ms=None,
                     allowed_scope=None, state=None, before_commit=None, check=None, drop_orphans=False):
        """Merge changes received from another replica, atomically, and return what it did.

        ``origin`` stamps every change with the sender (a node pushing its own outbox);
        ``contiguous`` demands an unbroken sequence from it; ``skew_bound_ms`` refuses the whole
        batch if any stamp lies further ahead of our clock (ClockSkewError); ``allowed_scope``
        refuses rows outside the sender's compound (ScopeError); ``state`` is written in the same
        transaction (the pull cursor), so it advances only if the changes are in; ``before_commit(tx)``
        runs last in that transaction too, and ``check(tx, seen, changes)`` first (it may raise).
        ``drop_orphans`` (the hub) drops edits of rows it does not have that cannot create them
        (required fields missing), or whose id compaction buried: their row was deleted and compacted
        away before the edit arrived, and merging it would raise a headless or a deleted row again.
        """
        if origin is not None:
            for ch in changes:
                ch["origin"] = origin
        normalising = {name for name, t in self.catalog.tables.items() if t.normalisers}
        if normalising:  # a change made before its field had a normaliser (an older replica's queue)
            for ch in changes:
                if ch["table"] in normalising:
                    ch["data"] = self.catalog.tables[ch["table"]].normalised(ch["data"])
        if skew_bound_ms is not None and changes:
            self.clock.check_not_far_future(max(ch["hlc"] for ch in changes), skew_bound_ms)
        buried, refused = [], []
        with paused_gc(), self.store.write() as tx:
            seen = tx.seen_origins()
            if check is not None:
                check(tx, seen, changes)
            before = dict(seen)
            fresh = fresh_changes(changes, seen, contiguous)
            n_conflicts, not_merged = self._merge_in(
                tx, fresh, {o: s for o, s in seen.items() if before.get(o) != s}, allowed_scope,
                buried if drop_orphans else None, refused)
            for key, value in (state or {}).items():
                tx.set_state(key, value)
            if before_commit is not None:
                before_commit(tx)
        return ApplyResult(len(fresh) - not_merged, len(changes) - len(fresh), n_conflicts, seen,
                           not_merged - len(refused), buried, refused)

    def _without_orphans(self, tx, changes, rows, buried_out):
        """Drop changes to rows this replica compacted away: they cannot make a whole row, or the row is buried.

        The buried rows' keys are added to ``buried_out``: the sender is told, so it drops them too.
        """
        tables, unknown, none = self.catalog.tables, {}, {}
        for ch in changes:
            tname = ch["table"]
            if not tables[tname].append_only and ch["id"] not in rows.get(tname, none):
                unknown.setdefault(tname, set()).add(ch["id"])
        if not unknown:  # every change is to a row stored here, or an append-only row: nothing to drop
            return changes, 0
        buried = {t: tx.buried_ids(t, ids) for t, ids in unknown.items()}
        created, keep = set(), []
        for ch in changes:
            tname, row_id = ch["table"], ch["id"]
            if row_id in unknown.get(tname, none):
                key = (tname, row_id)
                if key not in created:
                    if row_id in buried[tname]:
                        if key not in buried_out:
                            buried_out.append(key)
                        continue
                    if not tables[tname].creates(ch["data"]):
                        continue
                    created.add(key)
            keep.append(ch)
        return keep, len(changes) - len(keep)

    def drop_buried(self, keys):
        """Remove rows the hub reports deleted and compacted away for good ([(table, id)]), tombstone and all."""
        if not keys:
            return
        with self.store.write() as tx:
            for tname in {t for t, _ in keys}:
                tx.delete_ids(tname, [i for t, i in keys if t == tname])

    def apply_own_lost(self, changes, state=None):
        """Merge back this replica's own changes that its store lost and the hub kept (restored from a backup).

        They keep their numbers, which the replica's counter is already past, and are never sent again.
        """
        for ch in changes:
            ch["origin"] = self.id
        with paused_gc(), self.store.write() as tx:
            self._merge_in(tx, changes, {}, None)  # (conflicts, orphans): nothing to report here
            for key, value in (state or {}).items():
                tx.set_state(key, value)

    def _merge_in(self, tx, fresh, seen_updates, allowed_scope, buried_out=None, refused_out=None):
        """Merge changes new to this replica inside ``tx``; return (conflicts found, changes not merged).

        ``buried_out`` (a list) asks for orphans to be dropped and collects the keys of buried rows;
        ``refused_out`` collects the changes the write policy refused (only with ``allowed_scope``).
        """
        if not fresh:
            return 0, 0
        self.clock.observe(max(ch["hlc"] for ch in fresh))
        rows = self._load(tx, [(c["table"], c["id"], c["data"]) for c in fresh])
        orphans = 0
        if buried_out is not None:
            fresh, orphans = self._without_orphans(tx, fresh, rows, buried_out)
        existing, tables = {}, self.catalog.tables
        for ch in fresh:
            if tables[ch["table"]].append_only:
                existing.setdefault(ch["table"], set()).add(ch["id"])
        existing = {t: tx.existing_ids(t, ids) for t, ids in existing.items()}
        refused = []
        if allowed_scope is not None:
            self._check_scope(fresh, rows, allowed_scope)
            fresh, refused = self._refuse_by_policy(tx, fresh, rows, allowed_scope)
        if refused_out is not None:
            refused_out.extend(refused)
        return self._commit(tx, fresh, rows, existing, seen_updates), orphans + len(refused)

    def _refuse_by_policy(self, tx, changes, rows, scope):
        """Split a node's changes into those the write policy lets in and those it refuses (sync.policy).

        A refused change is acknowledged but never merged: the node parks it and its queue moves on.
        A later change of a row whose creation was refused goes with it (alone it would make half a row).
        """
        tables, none = self.catalog.tables, {}
        compounds = CompoundsOfRows(self.catalog, tx, [(tables[ch["table"]], ch["data"]) for ch in changes], scope)
        if not any(compounds.known.values()) and not any(tables[t].hub_only for t in {ch["table"] for ch in changes}):
            # The usual push: no reference names a stored row of another compound, and every row of the batch
            # is in the node's own (checked by scope), so no change can be refused: skip the per-change loop.
            return changes, []
        keep, refused, dropped = [], [], {}
        for ch in changes:
            table, key = tables[ch["table"]], (ch["table"], ch["id"])
            if table.hub_only:
                problems, code = {table.name: hub_only_message(table)}, HUB_ONLY
            elif key in dropped:
                problems, code = dropped[key]
            else:
                problems, code = compounds.problems(table, ch["data"], scope), FOREIGN_REFERENCE
            if problems:
                refused.append({"seq": ch.get("seq"), "table": ch["table"], "id": ch["id"], "code": code,
                                "fields": problems})
                if table.append_only or ch["id"] not in rows.get(ch["table"], none):
                    dropped[key] = (problems, code)
                continue
            compounds.made(table, ch["id"], scope)
            keep.append(ch)
        return keep, refused

    def _check_scope(self, changes, rows, scope):
        batch_scope, tables, none = {}, self.catalog.tables, {}  # rows created earlier in this same batch
        for ch in changes:
            table = tables[ch["table"]]
            if table.scope is None:
                raise ScopeError(f"a node cannot write shared table {table.name}")
            if table.scope == "id":
                if ch["id"] != scope:
                    raise ScopeError(f"{table.name} {ch['id']} is not this node's compound")
                continue
            if table.append_only:  # a row made once, whole: it names its compound itself
                if ch["data"].get(table.scope) != scope:
                    raise ScopeError(f"{table.name} {ch['id']} belongs to another compound")
                continue
            key = (ch["table"], ch["id"])
            row = rows.get(ch["table"], none).get(ch["id"])
            stored = row[0].get(table.scope) if row else batch_scope.get(key)
            sent = ch["data"].get(table.scope, stored)
            if sent != scope or stored not in (None, scope):
                raise ScopeError(f"{table.name} {ch['id']} belongs to another compound")
            batch_scope[key] = sent

    # -- shared internals ------------------------------------------------------------------
    def _load(self, tx, writes):
        wanted, tables = {}, self.catalog.tables
        for tname, row_id, _ in writes:
            if not tables[tname].append_only:
                wanted.setdefault(tname, set()).add(row_id)
        return {t: tx.load_rows(t, ids) for t, ids in wanted.items()}

    def _commit(self, tx, changes, rows, existing_append, seen_updates):
        """Merge changes into preloaded rows, write rows, log and bookkeeping; return conflicts found."""
        result = merge_batch(self.catalog, changes, rows, existing_append)
        first = tx.take_seqs(len(changes))
        logged, tables = [], self.catalog.tables
        for i, ch in enumerate(changes, start=first):
            ch["lseq"] = i
            table = tables[ch["table"]]
            if not table.append_only:  # append-only rows are their own log entries
                ch["scope"] = table.scope_of(ch["id"], rows[ch["table"]][ch["id"]][0])
                logged.append(ch)
        for tname, dirty in result.dirty.items():
            tx.save_rows(tname, dirty)
        for tname, new in result.appended.items():
            tx.insert_appended(tname, new, known_new=True)  # merge_batch kept only ids not yet stored
        tx.append_log(logged)
        tx.save_seen(seen_updates)
        if result.conflicts:
            tx.insert_conflicts(result.conflicts, self.clock.now())
        return len(result.conflicts)

    # -- the log, read ---------------------------------------------------------------------
    def outbox(self, after_lseq, limit):
        """Return [(log position, change)] of this replica's own changes after ``after_lseq``, oldest first."""
        with self.store.read() as tx:
            return tx.own_changes(self.id, after_lseq, limit)

    def outbox_json(self, after_lseq, limit, after_seq=0):
        """Return [(log position, seq, change as JSON text)] of own changes after ``after_lseq`` numbered after ``after_seq``.

        The log already holds each change's data as JSON, so it is spliced in, not parsed and re-encoded.
        A change numbered at or below what the hub acknowledged (``after_seq``) is never sent again even
        if it sits later in the log: a snapshot can bring back our own gate events the hub already has.
        """
        with self.store.read() as tx:
            rows = tx.own_log_rows(self.id, after_lseq, limit, after_seq)
        return [(lseq, oseq, _change_json(None, oseq, hlc, tbl, row_id, data, prev))
                for lseq, _origin, oseq, hlc, tbl, row_id, data, prev in rows]

    def log_position_of(self, seq):
        """Return the log position of this replica's own change number ``seq`` (0 for none)."""
        with self.store.read() as tx:
            return tx.lseq_of(self.id, seq)

    def seen_seq(self, origin):
        """Return the highest sequence number applied from ``origin`` (0 if none)."""
        with self.store.read() as tx:
            return tx.seen_origins().get(origin, 0)

    def own_seq(self):
        """Return the last sequence number this replica gave one of its own changes."""
        with self.store.read() as tx:
            return tx.seen_origins().get(self.id, 0)

    def log_page_json(self, after, exclude_origin, scope, limit):
        """Return (JSON text of each change, cursor, more) for a pull after ``after``."""
        with self.store.read() as tx:
            rows, high = tx.log_page(after, exclude_origin, scope, limit)
        out = [_change_json(origin, oseq, hlc, tbl, row_id, data, prev)
               for _seq, origin, oseq, hlc, tbl, row_id, data, prev in rows]
        cursor, more = next_cursor([r[0] for r in rows], limit, high)
        return out, cursor, more

    def get_state(self, key, default=None):
        """Read one value of this replica's persistent sync state."""
        with self.store.read() as tx:
            return tx.get_state(key, default)

    def set_state(self, key, value):
        """Write one value of this replica's persistent sync state."""
        self.set_states({key: value})

    def set_states(self, values):
        """Write several values of this replica's persistent sync state in one transaction."""
        with self.store.write() as tx:
            for key, value in values.items():
                tx.set_state(key, value)
