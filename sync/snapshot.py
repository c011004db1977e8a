"""Bootstrap by snapshot: a compound's current rows and a log cursor instead of its whole history.

The hub serves one table's rows at a time in key order (``snapshot_page_json``); the node merges
each page keeping every field's version (``apply_snapshot``), so later merges judge its rows
exactly as if it had replayed the log. The cursor is the log end read *before* any row: each row
then reflects at least everything up to it, and the pull that follows re-delivers anything newer
(merging a change already reflected changes nothing). Like the rest of the core, this module
imports no web or database framework.
"""
import time

import orjson

from .replica import paused_gc

#: A page ends after this much JSON even if it holds fewer rows than asked: a gate laptop's memory
#: is bounded by the page, and a few rows (receipt photos) may weigh megabytes each.
PAGE_BYTES = 256 * 1024
#: The node commits a bootstrap's pages after this many rows or seconds (see apply_snapshot).
COMMIT_ROWS, COMMIT_S = 20_000, 1.0


def merge_state(values, versions, snap_values, snap_versions):
    """Merge a row's state from a snapshot into a stored row in place, field by field; return True if any changed.

    The newer version of each field wins, as in a merge of changes; no conflict is recorded, since
    a state is not a write (the writes themselves were judged where they were merged).
    """
    changed = False
    for name, ver in snap_versions.items():
        cur = versions.get(name)
        if cur is None or (ver[0], ver[1]) > (cur[0], cur[1]):
            values[name] = snap_values.get(name)
            versions[name] = [ver[0], ver[1]]
            changed = True
    return changed


def snapshot_page_json(replica, scope, table, after, limit):
    """Hub: return one snapshot page as JSON text: ``table``'s rows in ``scope`` after key ``after``.

    With ``table`` None the snapshot starts: the page is the first table's, and it carries the
    cursor and the per-origin sequences the node adopts once the last page is in.
    """
    names = [t.name for t in replica.catalog]
    start = table is None
    with replica.store.read() as tx:
        if start:
            cursor, seen = tx.snapshot_start()
            table, after = names[0], None
        rows = tx.snapshot_rows(table, scope, after, limit)
    size = 0
    for n, (_key, text) in enumerate(rows):
        size += len(text)
        if size > PAGE_BYTES and n:
            del rows[n:]
            limit = n  # a full page: the next one continues this table
            break
    if len(rows) == limit:
        nxt = {"table": table, "after": rows[-1][0]}
    else:
        i = names.index(table) + 1
        nxt = {"table": names[i], "after": None} if i < len(names) else None
    head = f'{{"table":{orjson.dumps(table).decode()},"after":{orjson.dumps(after).decode()},'
    if start:
        head += f'"cursor":{cursor},"seen":{orjson.dumps(seen).decode()},'
    return (head + f'"next":{orjson.dumps(nxt).decode()},"schema_version":{replica.catalog.schema_version},'
            f'"rows":[' + ",".join(text for _key, text in rows) + "]}")


def start_progress(replica, unsent_after_lseq):
    """Node: the saved state of a bootstrap about to start: no cursor yet, the append-only tables still
    empty (``fresh``), and the log position after which this node's own changes are unsent."""
    with replica.store.read() as tx:
        fresh = [t.name for t in replica.catalog
                 if t.append_only and not tx.rows(f"SELECT 1 FROM {t.name} LIMIT 1")]
    return {"cursor": None, "seen": None, "table": None, "after": None, "unsent_after": unsent_after_lseq,
            "fresh": fresh}


def apply_snapshot(replica, page, fetch_after, progress, scope, unsent_after_lseq, clock=time.monotonic):
    """Node: merge pages, starting with ``page``, until the last; return the rows received.

    ``fetch_after(page)`` starts fetching the page after ``page`` and returns its future (None after
    the last). Pages share one transaction until COMMIT_ROWS rows or COMMIT_S seconds: SQLite rewrites
    the index pages a commit touched, so 600-row commits cost twice the time of 20,000-row ones, while
    the desk's writes wait at most about COMMIT_S for the lock. The progress after each page is
    written in the same transaction as its rows, so a bootstrap resumes after the last page committed,
    and a page that fails to arrive is reported after the ones before it are committed.
    """
    got = 0
    while True:
        started, in_txn = clock(), 0
        with paused_gc(), replica.store.write() as tx:
            while True:
                upcoming = fetch_after(page)
                got += len(page["rows"])
                in_txn += len(page["rows"])
                if apply_snapshot_page(replica, tx, page, progress, scope, unsent_after_lseq):
                    return got
                page = None  # let it go before the next one arrives
                remaining = COMMIT_S - (clock() - started)
                if in_txn >= COMMIT_ROWS or remaining <= 0:
                    break
                try:  # wait for the next page only until the commit is due, and commit before any failure
                    if upcoming.exception(timeout=remaining) is not None:
                        break
                except TimeoutError:
                    break
                page = upcoming.result()
        page = upcoming.result()


def apply_snapshot_page(replica, tx, page, progress, scope, unsent_after_lseq):
    """Node: merge one validated page and record the progress after it, in ``tx``; return True when done.

    ``progress`` is the bootstrap's saved state (cursor, seen, table, after). Rows of this page's key
    range that the node holds but the hub no longer has were deleted and compacted away at the hub:
    they are removed, unless this node changed them after log position ``unsent_after_lseq`` (its
    unsent outbox, which stays queued and is pushed as usual). The last page sets the pull cursor.
    """
    table = replica.catalog[page["table"]]
    rows = page["rows"]
    if table.append_only:
        _insert_appended(replica, tx, table.name, rows, table.name in progress.get("fresh", ()))
    else:
        _merge_rows(replica, tx, table.name, rows)
        _drop_vanished(replica, tx, table.name, rows, page, scope, unsent_after_lseq)
    nxt = page["next"]
    if nxt is None:
        local = tx.seen_origins()
        tx.save_seen({o: s for o, s in progress["seen"].items()
                      if o != replica.id and s > local.get(o, 0)})
        tx.set_state("cursor", progress["cursor"])
        tx.set_state("bootstrap", None)
        return True
    progress.update(table=nxt["table"], after=nxt["after"])
    tx.set_state("bootstrap", progress)
    return False


def _merge_rows(replica, tx, tname, rows):
    stored = tx.load_rows(tname, [r["id"] for r in rows])
    dirty, best = {}, 0
    for r in rows:
        versions = r["versions"]
        best = max(best, max((v[0] for v in versions.values()), default=0))
        row = stored.get(r["id"])
        if row is None:
            dirty[r["id"]] = [dict(r["values"]), versions]
        elif merge_state(row[0], row[1], r["values"], versions):
            dirty[r["id"]] = row
    replica.clock.observe(best)  # our next write to these rows must be newer than what they hold
    tx.save_rows(tname, dirty)


def _insert_appended(replica, tx, tname, rows, fresh):
    # In a table empty when the bootstrap began only a row this node wrote and pushed meanwhile can be
    # here already, and the insert leaves that one alone: the look-up (a tenth of a million-event
    # bootstrap) is skipped.
    have = () if fresh else tx.existing_ids(tname, [r["id"] for r in rows])
    new = [r for r in rows if r["id"] not in have]
    if not new:
        return
    first = tx.take_seqs(len(new))
    replica.clock.observe(max(r["hlc"] for r in new))
    tx.insert_appended(tname, [{"id": r["id"], "data": r["data"], "origin": r["origin"], "seq": r["seq"],
                                "hlc": r["hlc"], "lseq": first + i} for i, r in enumerate(new)], known_new=True)


def _drop_vanished(replica, tx, tname, rows, page, scope, unsent_after_lseq):
    # The page covers (after, last id] of the hub's key order, or (after, end) if the table ends here.
    more = rows and page["next"] is not None and page["next"]["table"] == tname
    high = rows[-1]["id"] if more else None
    sent = {r["id"] for r in rows}
    gone = [i for i in tx.ids_between(tname, scope, page["after"], high) if i not in sent]
    if gone:
        # Kept: rows our unsent outbox creates, every field of which it wrote. A row the hub once had
        # was deleted and compacted away there, and the hub drops any edit of it (see
        # Replica.apply_remote), so here it goes too, unsent edits or not.
        unsent = {}
        for row_id, hlc, _data in tx.unsent_changes(replica.id, unsent_after_lseq, tname, gone):
            unsent.setdefault(row_id, set()).add(hlc)
        stored = tx.load_rows(tname, list(unsent))
        ours = {i for i, stamps in unsent.items() if i in stored
                and all(o == replica.id and h in stamps for h, o in stored[i][1].values())}
        tx.delete_ids(tname, [i for i in gone if i not in ours])
