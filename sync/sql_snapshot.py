"""SQL of snapshots and compaction, mixed into the store's transactions (Txn).

A snapshot page is one table's rows of one compound, in key order after a key: mutable rows by id,
append-only rows by their log position. Ids compare byte-wise on both databases (COLLATE "C" on
PostgreSQL, SQLite's default), so the hub's order and the node's range tests agree.
"""
import orjson

from .sql_bulk import unindexed
from .tables import DELETED


def _dumps(value):
    return orjson.dumps(value).decode()


class SnapshotTxn:
    """Snapshot and compaction statements of one transaction."""

    def _id(self):
        return 'id COLLATE "C"' if self.store.pg else "id"

    def _scope_where(self, table, scope, where, params):
        if scope is None or table.scope is None:
            return
        where.append(f"{'id' if table.scope == 'id' else unindexed(self.store, table.scope)} = ?")
        params.append(scope)

    def snapshot_start(self):
        """Return (log end, {origin: highest sequence applied}) for a snapshot about to be read.

        The origins are read first: on PostgreSQL each statement sees a newer snapshot, and every
        change they count must lie at or below the end read after them.
        """
        seen = self.seen_origins()
        return self.log_end(), seen

    def snapshot_rows(self, tname, scope, after, limit):
        """Return up to ``limit`` rows of a table in a scope after key ``after``: [(key, row as JSON text)].

        Mutable rows carry the values of their versioned fields and their versions as stored;
        append-only rows carry their data and the origin, sequence and stamp of the change that made them.
        """
        table = self.catalog[tname]
        names = table.field_names
        decode = {f.name: (bool if f.type == "bool" else orjson.loads) for f in table.fields
                  if f.type in ("bool", "json")}
        where, params = [], []
        self._scope_where(table, scope, where, params)
        out = []
        if table.append_only:
            if after is not None:
                where.append("_seq > ?")
                params.append(int(after))
            sql = (f"SELECT _seq, id, _origin, _oseq, _hlc, {', '.join(names)} FROM {tname} "
                   f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY _seq LIMIT ?")
            for r in self.rows(sql, [*params, limit]):
                data = {n: (decode[n](v) if n in decode else v) for n, v in zip(names, r[5:]) if v is not None}
                out.append((r[0], f'{{"id":{_dumps(r[1])},"origin":{_dumps(r[2])},"seq":{r[3]},"hlc":{r[4]},'
                                  f'"data":{_dumps(data)}}}'))
            return out
        if after is not None:
            where.append(f"{self._id()} > ?")
            params.append(after)
        sql = (f"SELECT id, {', '.join(names)}, {DELETED}, _v FROM {tname} "
               f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {self._id()} LIMIT ?")
        for r in self.rows(sql, [*params, limit]):
            versioned = {n for _hlc, _origin, group in orjson.loads(r[-1]) for n in group}
            values = {n: (decode[n](v) if n in decode and v is not None else v)
                      for n, v in zip(names, r[1:]) if n in versioned}
            if DELETED in versioned:
                values[DELETED] = bool(r[-2])
            out.append((r[0], f'{{"id":{_dumps(r[0])},"values":{_dumps(values)},"versions":{r[-1]}}}'))
        return out

    def ids_between(self, tname, scope, low, high):
        """Return the ids of a mutable table's rows in a scope with ``low < id <= high`` (None: unbounded)."""
        table = self.catalog[tname]
        where, params = [], []
        self._scope_where(table, scope, where, params)
        if low is not None:
            where.append(f"{self._id()} > ?")
            params.append(low)
        if high is not None:
            where.append(f"{self._id()} <= ?")
            params.append(high)
        return [r[0] for r in self.rows(f"SELECT id FROM {tname} {'WHERE ' + ' AND '.join(where) if where else ''}",
                                        params)]

    def unsent_changes(self, origin, after_lseq, tname, ids):
        """Return [(row id, stamp, data)] of this origin's changes to the given rows after log position ``after_lseq``, in order."""
        out = []
        ids = list(ids)
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            out += self.rows(f"SELECT seq, row_id, hlc, data FROM sync_log WHERE origin = ? AND seq > ? AND tbl = ? "
                             f"AND row_id IN ({','.join('?' * len(part))})", (origin, after_lseq, tname, *part))
        return [(r[1], r[2], orjson.loads(r[3])) for r in sorted(out)]

    def delete_ids(self, tname, ids):
        """Remove rows of a table outright (no tombstone): their deletes were compacted away at the hub."""
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            gone = self.execute(f"DELETE FROM {tname} WHERE id IN ({','.join('?' * len(part))})", part)
            self.written += gone.rowcount
