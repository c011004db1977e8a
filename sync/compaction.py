"""Compaction: prune the hub's change log and tombstones behind what every node of a compound has pulled.

Each pull tells the hub the node's cursor, everything up to which the node has applied; the hub
keeps it (``ack:<node>`` in its state). A compound's log entries at or below the lowest cursor of
its active nodes can go: none of them will ask for them again. A node silent for longer than the
retention window does not hold compaction back: once entries after its cursor are gone it is told
to re-bootstrap (``stale_cursor``) rather than silently miss the deletes among them. A tombstone
goes with the last log entry of its row, leaving the row's id in a graveyard. Like the rest of the core this imports no framework; it
speaks SQL through the store's transactions.
"""
from dataclasses import dataclass, field

SHARED = ""  # the state key suffix of rows no compound owns


def ack_key(node_id):
    """The hub state key holding a node's last pull cursor."""
    return f"ack:{node_id}"


def pruned_key(scope):
    """The hub state key holding the highest log position pruned in a scope (None: shared rows)."""
    return f"pruned:{scope if scope is not None else SHARED}"


@dataclass
class CompactionReport:
    """What a compaction pruned (or, in a dry run, would prune)."""

    horizons: dict = field(default_factory=dict)  # scope -> log position pruned up to
    log_entries: int = 0
    tombstones: dict = field(default_factory=dict)  # table -> rows removed
    contacts: int = 0
    stale_nodes: list = field(default_factory=list)  # nodes that will have to re-bootstrap


def stale_cursor(store, scope, cursor):
    """Return the pruned position a pull from ``cursor`` in ``scope`` would step over, or None if it is complete."""
    with store.read() as tx:
        pruned = max(tx.get_state(pruned_key(scope), 0), tx.get_state(pruned_key(None), 0))
    return pruned if cursor < pruned else None


def _horizons(tx, now_ms, retention_ms):
    """Return ({scope: horizon}, shared horizon, [stale node ids]) from the nodes' acknowledged cursors."""
    end = tx.log_end()
    per_scope, stale = {}, []
    nodes = tx.rows("SELECT id, compound_id, revoked, last_pull_ms FROM sync_nodes")
    acks = {key[4:]: value
            for key, value in tx.rows("SELECT key, value FROM sync_state WHERE key LIKE ?", (ack_key("%"),))}
    for node_id, compound, revoked, last_pull in nodes:
        if revoked or not compound or (node_id not in acks):
            continue  # never pulled: it will bootstrap from a snapshot like a new node
        if last_pull is None or last_pull < now_ms - retention_ms:
            stale.append(node_id)
            continue
        cursor = int(acks[node_id])
        per_scope[compound] = min(per_scope.get(compound, end), cursor)
    shared = min(per_scope.values(), default=end)
    return per_scope, shared, end, stale


#: Log entries pruned per write transaction: pushes wait for the write lock only that long, not for all of it.
CHUNK = 20_000


def compact(store, catalog, now_ms, retention_ms, contacts_retention_ms, dry_run=False, chunk=CHUNK,
            progress=None):
    """Prune behind every active node's cursor, drop the contact diary's old rows; return a CompactionReport.

    The log goes ``chunk`` entries per transaction (``progress(done, total)`` after each), so syncing
    nodes wait for the write lock a moment at a time. Horizons read at the start stay safe: cursors
    move forward, and one that moves back (a restored node) meets the pruned mark its next pull checks.
    The tombstones and the diary follow in one last transaction. A dry run only counts, in one read
    transaction (see ``preview``).
    """
    if dry_run:
        return preview(store, catalog, now_ms, retention_ms, contacts_retention_ms)
    report = CompactionReport()
    with store.read() as tx:
        plan = _plan(tx, report, now_ms, retention_ms)
    total, done = sum(p[2] for p in plan), 0
    for scope, horizon, _n, _top in plan:
        while True:
            with store.write() as tx:
                n = _prune_log(tx, report, scope, horizon, chunk)
            if not n:
                break
            done += n
            if progress is not None:
                progress(done, max(total, done))
    with store.write() as tx:
        _prune_rows(tx, catalog, report, now_ms, contacts_retention_ms)
    return report


def _where(scope):
    return ("scope IS NULL", ()) if scope is None else ("scope = ?", (scope,))


def _plan(tx, report, now_ms, retention_ms):
    """Return [(scope, horizon, entries at or below it, the last of them)] for each scope with any."""
    per_scope, shared, end, report.stale_nodes = _horizons(tx, now_ms, retention_ms)
    plan = []
    for scope in [r[0] for r in tx.rows("SELECT DISTINCT scope FROM sync_log")]:
        horizon = shared if scope is None else per_scope.get(scope, end)
        where, args = _where(scope)
        n, top = tx.rows(f"SELECT COUNT(*), MAX(seq) FROM sync_log WHERE {where} AND seq <= ?",
                         (*args, horizon))[0]
        if n:
            plan.append((scope, horizon, n, top))
    return plan


def preview(store, catalog, now_ms, retention_ms, contacts_retention_ms):
    """Return the CompactionReport a real run would give now, from one read transaction that changes nothing.

    It takes no write lock, so syncing nodes never wait for it, however long counting a million-entry
    log takes. Every figure comes from one snapshot: the log entries a real run deletes are those at
    or below the plan's horizons; the tombstones, those with no log entry left above the last of
    them; the visits, those ended before the window.
    """
    report = CompactionReport()
    with store.read(snapshot=True) as tx:
        plan = _plan(tx, report, now_ms, retention_ms)
        for scope, _horizon, n, top in plan:
            report.horizons[scope if scope is not None else SHARED] = top
            report.log_entries += n
        kept, args = _kept_above({scope: top for scope, _h, _n, top in plan})
        for t in catalog:
            if t.append_only:
                continue
            # _prune_rows' DELETE, counting instead, and blind to the entries the prune would take.
            n = tx.rows(f"SELECT COUNT(*) FROM {t.name} WHERE {_settled(t.name, f'AND l.seq > {kept}')}",
                        (True, t.name, *args))[0][0]
            if n:
                report.tombstones[t.name] = n
        report.contacts = tx.rows("SELECT COUNT(*) FROM sync_contacts WHERE until_ms < ?",
                                  (now_ms - contacts_retention_ms,))[0][0]
    return report


def _settled(tname, log_test=""):
    """SQL: a tombstone of ``tname`` with no change left in the log (parameters: True, ``tname``).

    ``log_test`` narrows the log entries that count (the dry run's: those the prune leaves).
    NOT EXISTS, not NOT IN: PostgreSQL plans it as one anti-join instead of a log scan per row.
    """
    return (f"_deleted = ? AND NOT EXISTS (SELECT 1 FROM sync_log l WHERE l.tbl = ? "
            f"AND l.row_id = {tname}.id {log_test})")


def _kept_above(tops):
    """Return SQL (and its parameters) of the position above which a log entry ``l`` outlives the prune."""
    if not tops:
        return "0", ()  # log positions start at 1: nothing is pruned
    whens, args = [], []
    for scope, top in tops.items():
        # The shared scope's own WHEN: "l.scope = ?" is never true of NULL.
        whens.append("WHEN l.scope IS NULL THEN ?" if scope is None else "WHEN l.scope = ? THEN ?")
        args += [top] if scope is None else [scope, top]
    return f"CASE {' '.join(whens)} ELSE 0 END", tuple(args)


def _prune_log(tx, report, scope, horizon, limit):
    """Delete the oldest ``limit`` entries of a scope at or below its horizon; return how many went."""
    where, args = _where(scope)
    last = tx.rows(f"SELECT seq FROM sync_log WHERE {where} AND seq <= ? ORDER BY seq LIMIT 1 OFFSET ?",
                   (*args, horizon, limit - 1))
    if last:
        top = last[0][0]
    else:  # fewer than ``limit`` left: up to the last of them, not the horizon (no stale node is told too soon)
        top = tx.rows(f"SELECT MAX(seq) FROM sync_log WHERE {where} AND seq <= ?", (*args, horizon))[0][0]
        if top is None:
            return 0
    n = tx.execute(f"DELETE FROM sync_log WHERE {where} AND seq <= ?", (*args, top)).rowcount
    tx.written += n  # deleted pages fill the WAL as much as inserted ones: the checkpointer copies them back
    if n:
        key = pruned_key(scope)
        report.horizons[scope if scope is not None else SHARED] = top
        report.log_entries += n
        # Set in the same transaction as the delete: a pull from below it is told to re-bootstrap.
        tx.set_state(key, max(top, tx.get_state(key, 0)))
    return n


def _prune_rows(tx, catalog, report, now_ms, contacts_retention_ms):
    for t in catalog:
        if t.append_only:
            continue
        # A tombstone none of whose changes is left in the log is known to every active node. Its id
        # stays in the graveyard, so an edit made before the delete and pushed after cannot raise it.
        gone = [r[0] for r in tx.rows(f"DELETE FROM {t.name} WHERE {_settled(t.name)} RETURNING id",
                                      (True, t.name))]
        if gone:
            tx.executemany("INSERT INTO sync_graveyard (tbl, row_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                           [(t.name, i) for i in gone])
            report.tombstones[t.name] = len(gone)
            tx.written += 2 * len(gone)
    report.contacts = tx.execute("DELETE FROM sync_contacts WHERE until_ms < ?",
                                 (now_ms - contacts_retention_ms,)).rowcount
    tx.written += report.contacts
