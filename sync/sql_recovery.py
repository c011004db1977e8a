"""SQL for a node that lost changes it had sent (restored from an old backup, or a new database
enrolled under an old node id): find, renumber and move its own changes in the log.

Functions of an open transaction (sql_store.Txn). They read an origin's changes without an index on
origin: recovery is rare, and every sync's writes would pay for such an index.
"""


def origin_log_rows(tx, origin, after_oseq, after_lseq, limit, upto_lseq):
    """Return an origin's log rows numbered after ``after_oseq`` and placed in (``after_lseq``, ``upto_lseq``], in order."""
    params = [origin, after_oseq, after_lseq, upto_lseq]
    return tx._log_rows("origin = ? AND oseq > ? AND seq > ? AND seq <= ?", params,
                        "_origin = ? AND _oseq > ? AND _seq > ? AND _seq <= ?", params, limit)


def change_ids(tx, origin, first, last):
    """Return {number: (hlc, table, row id)} of an origin's changes numbered first..last the log still holds."""
    out = {o: (h, t, i) for o, h, t, i in tx.rows(
        "SELECT oseq, hlc, tbl, row_id FROM sync_log WHERE origin = ? AND oseq BETWEEN ? AND ?", (origin, first, last))}
    for t in tx.catalog:
        if t.append_only:
            out.update({o: (h, t.name, i) for o, h, i in tx.rows(
                f"SELECT _oseq, _hlc, id FROM {t.name} WHERE _origin = ? AND _oseq BETWEEN ? AND ?", (origin, first, last))})
    return out


def shift_oseqs(tx, origin, after_oseq, delta):
    """Renumber an origin's changes after ``after_oseq`` by ``delta``; their log positions stay."""
    tx.execute("UPDATE sync_log SET oseq = oseq + ? WHERE origin = ? AND oseq > ?", (delta, origin, after_oseq))
    for t in tx.catalog:
        if t.append_only:
            tx.execute(f"UPDATE {t.name} SET _oseq = _oseq + ? WHERE _origin = ? AND _oseq > ?",
                       (delta, origin, after_oseq))


def move_to_log_end(tx, origin, after_oseq):
    """Give an origin's changes after ``after_oseq`` new log positions at the end, in their order.

    Returns the log's end before the move: the changes placed after it are exactly those moved.
    """
    found = [(oseq, "sync_log", "seq", lseq) for lseq, oseq in tx.rows(
        "SELECT seq, oseq FROM sync_log WHERE origin = ? AND oseq > ?", (origin, after_oseq))]
    for t in tx.catalog:
        if t.append_only:
            found += [(oseq, t.name, "_seq", lseq) for lseq, oseq in tx.rows(
                f"SELECT _seq, _oseq FROM {t.name} WHERE _origin = ? AND _oseq > ?", (origin, after_oseq))]
    end = tx.log_end()
    if found:
        first = tx.take_seqs(len(found))
        for i, (_oseq, table, col, lseq) in enumerate(sorted(found)):
            tx.execute(f"UPDATE {table} SET {col} = ? WHERE {col} = ?", (first + i, lseq))
    return end
