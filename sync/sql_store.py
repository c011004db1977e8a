"""SQL adapter of a replica's store: tables from declarations, WAL set-up and bulk reads and writes.

Bulk paths use the DB-API's executemany directly: building ORM objects costs ~100 µs a row, too
slow for syncing a day's events in seconds. The SQL is plain enough to run on SQLite and PostgreSQL.
"""
import heapq
from contextlib import contextmanager
from operator import itemgetter

import orjson

from sqlalchemy import (BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, event)

from .sql_bulk import insert_rows, rows_where_in, unindexed
from .sql_snapshot import SnapshotTxn
from .tables import DELETED

# In SQLite only a column declared exactly INTEGER PRIMARY KEY is the rowid: rows then append in order
# instead of going through a second index.
LOG_POSITION = BigInteger().with_variant(Integer(), "sqlite")
_COLUMN_TYPES = {"str": String, "text": Text, "int": BigInteger, "float": Float, "bool": Boolean,
                 "ref": String, "date": String, "datetime": String, "json": Text}


def _column(f):
    kind = _COLUMN_TYPES[f.type]
    ctype = kind(f.max_length) if kind is String else kind()
    return Column(f.name, ctype, nullable=True, index=f.index)


def build_metadata(catalog, metadata=None):
    """Add the replicated tables of ``catalog`` and the sync bookkeeping tables to ``metadata``."""
    md = metadata if metadata is not None else MetaData()
    for t in catalog:
        if t.append_only:
            # An append-only table is its own change log: each row is keyed by its place in the log
            # (_seq), so a gate event is written once, in order, not again in sync_log.
            cols = [Column("_seq", LOG_POSITION, primary_key=True, autoincrement=False),
                    Column("id", String(64), nullable=False, unique=True)]
            cols += [_column(f) for f in t.fields]
            cols += [Column("_origin", String(64), nullable=False), Column("_oseq", BigInteger, nullable=False),
                     Column("_hlc", BigInteger, nullable=False)]
        else:
            cols = [Column("id", String(64), primary_key=True)] + [_column(f) for f in t.fields]
            cols += [Column(DELETED, Boolean, nullable=False, default=False), Column("_v", Text, nullable=False)]
        cols += [Index(f"ix_{t.name}_{'_'.join(ix)}", *ix) for ix in t.indexes]
        Table(t.name, md, *cols)
    Table("sync_log", md,
          Column("seq", LOG_POSITION, primary_key=True, autoincrement=False),
          Column("origin", String(64), nullable=False),
          Column("oseq", BigInteger, nullable=False),
          Column("hlc", BigInteger, nullable=False),
          Column("tbl", String(64), nullable=False),
          Column("row_id", String(64), nullable=False),
          Column("scope", String(64)),
          Column("data", Text, nullable=False),
          Column("prev", Text))
    # One counter orders the log and every append-only table; its row lock also serialises writers.
    Table("sync_counter", md,
          Column("name", String(16), primary_key=True),
          Column("value", BigInteger, nullable=False))
    Table("sync_origins", md,
          Column("origin", String(64), primary_key=True),
          Column("max_oseq", BigInteger, nullable=False))
    Table("sync_state", md,
          Column("key", String(64), primary_key=True),
          Column("value", Text))
    Table("sync_conflicts", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("detected_hlc", BigInteger, nullable=False),
          Column("tbl", String(64), nullable=False),
          Column("row_id", String(64), nullable=False),
          Column("field", String(64), nullable=False),
          Column("winner_value", Text), Column("winner_hlc", BigInteger), Column("winner_origin", String(64)),
          Column("loser_value", Text), Column("loser_hlc", BigInteger), Column("loser_origin", String(64)),
          Column("status", String(16), nullable=False, default="open"),
          Column("resolved_by", String(64)), Column("resolved_hlc", BigInteger), Column("resolution", Text),
          UniqueConstraint("tbl", "row_id", "field", "winner_hlc", "winner_origin", "loser_hlc",
                           "loser_origin", name="uq_sync_conflicts_pair"))
    # Rows whose tombstone compaction removed: an old edit of one arriving later must not raise it again.
    Table("sync_graveyard", md,
          Column("tbl", String(64), primary_key=True),
          Column("row_id", String(64), primary_key=True))
    # The hub's diary of node visits: outages are the gaps in it, late arrivals its pushes of old changes.
    Table("sync_contacts", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("node_id", String(64), nullable=False, index=True),
          Column("at_ms", BigInteger, nullable=False),
          Column("until_ms", BigInteger, nullable=False),  # a run of pulls is one row
          Column("kind", String(8), nullable=False),
          Column("first_oseq", BigInteger), Column("last_oseq", BigInteger),
          Column("error", Text))
    Table("sync_nodes", md,
          Column("id", String(64), primary_key=True),
          Column("compound_id", String(64)),
          Column("label", String(200)),
          Column("token_hash", String(128)),
          Column("code_hash", String(128)),
          Column("code_expires_ms", BigInteger),
          Column("revoked", Boolean, nullable=False, default=False),
          Column("created_ms", BigInteger),
          Column("last_seen_ms", BigInteger),
          Column("last_push_ms", BigInteger),
          Column("last_pull_ms", BigInteger),
          Column("skew_ms", BigInteger),
          Column("schema_version", Integer),
          Column("pending", BigInteger),
          Column("last_error", Text))
    return md


def configure_sqlite(engine, synchronous="FULL", cache_kb=65536, wal_autocheckpoint=1000):
    """Put an SQLite engine in WAL mode and let each transaction choose DEFERRED or IMMEDIATE.

    pysqlite's own transaction handling is switched off (isolation_level None) so BEGIN is ours:
    writers take the write lock up front with BEGIN IMMEDIATE and never fail half-way on an upgrade.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute(f"PRAGMA cache_size=-{cache_kb}")
        cur.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _dumps(value):
    return orjson.dumps(value).decode()


_loads = orjson.loads


def encode_versions(versions):
    """Store a row's field versions compactly: fields written together share one [hlc, origin, names]."""
    groups = {}
    for name, (hlc, origin) in versions.items():
        groups.setdefault((hlc, origin), []).append(name)
    return orjson.dumps([[hlc, origin, names] for (hlc, origin), names in groups.items()]).decode()


def decode_versions(text):
    """Read what encode_versions wrote back into {field: [hlc, origin]}."""
    return {name: [hlc, origin] for hlc, origin, names in orjson.loads(text) for name in names}
_first = itemgetter(0)


class SqlStore:
    """A replica's store in one SQL database, opened through a SQLAlchemy engine."""

    def __init__(self, engine, catalog, checkpointer=None):
        self.engine, self.catalog = engine, catalog
        self.pg = engine.dialect.name == "postgresql"
        self.checkpointer = checkpointer  # told how many rows each write stored (SQLite: sql_checkpoint)

    @contextmanager
    def write(self):
        """A write transaction holding the replica's write lock from its start; commits on success.

        SQLite takes it with BEGIN IMMEDIATE; PostgreSQL by locking the log counter's row, so writers
        (several hub workers included) follow one another and log positions commit in order — a
        pull never skips a position that commits late.
        """
        with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
            with conn.begin():
                tx = Txn(self, conn)
                if self.pg:
                    tx.lock()
                yield tx
        if self.checkpointer is not None:
            self.checkpointer.wrote(tx.written)

    @contextmanager
    def read(self, snapshot=False):
        """A read transaction taking no write lock; ``snapshot``: every statement sees the same snapshot.

        SQLite's read transactions always do (WAL). PostgreSQL's default, READ COMMITTED, gives each
        statement a newer one, so a reader that must add figures up (a compaction's dry run) asks for
        REPEATABLE READ, read-only: it still never waits for a writer nor makes one wait.
        """
        with self.engine.connect() as conn:
            if snapshot and self.pg:  # set before BEGIN; the pool puts the defaults back on return
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield Txn(self, conn)


class Txn(SnapshotTxn):
    """Bulk reads and writes of one transaction."""

    def __init__(self, store, conn):
        self.store, self.conn, self.catalog = store, conn, store.catalog
        self._cursor = None
        self.written = 0  # rows stored by bulk inserts or deleted, for the checkpointer

    def _sql(self, sql):
        return sql.replace("?", "%s") if self.store.pg else sql

    def rows(self, sql, params=()):
        """Run a query and return all its rows as tuples."""
        return self.conn.exec_driver_sql(self._sql(sql), tuple(params)).fetchall()

    def plain_rows(self, sql, params=()):
        """Run a query on the driver's own cursor and return plain tuples: the log reads' hot path.

        SQLAlchemy's Row objects cost several microseconds each to build and index, which a
        10,000-change outbox or pull page pays on every row.
        """
        cur = self.conn.connection.driver_connection.cursor()
        try:
            cur.execute(self._sql(sql), tuple(params))
            return cur.fetchall()
        finally:
            cur.close()

    def execute(self, sql, params=()):
        """Run one statement."""
        return self.conn.exec_driver_sql(self._sql(sql), tuple(params))

    def executemany(self, sql, seq):
        """Run one statement over many parameter tuples."""
        if seq:
            self.conn.exec_driver_sql(self._sql(sql), seq if isinstance(seq, list) else list(seq))

    # -- replicated rows ---------------------------------------------------------------------
    def load_rows(self, tname, ids):
        """Return {id: [values, versions]} for the stored rows among ``ids`` of a mutable table."""
        table = self.catalog[tname]
        names = table.field_names
        decode = _decoders(table)
        out = {}
        sql = f"SELECT id, {', '.join(names)}, {DELETED}, _v FROM {tname} WHERE {{in}}"
        for r in rows_where_in(self, sql, "id", ids):
            versions = decode_versions(r[-1])
            values = {}
            for j, name in enumerate(names, start=1):
                if name in versions:
                    v = r[j]
                    values[name] = decode[name](v) if name in decode and v is not None else v
            if DELETED in versions:
                values[DELETED] = bool(r[-2])
            out[r[0]] = [values, versions]
        return out

    def save_rows(self, tname, rows):
        """Upsert whole rows ({id: [values, versions]}) of a mutable table."""
        table = self.catalog[tname]
        names = table.field_names
        cols = ("id",) + names + (DELETED, "_v")
        encode = _encoders(table)
        params = []
        for row_id, (values, versions) in rows.items():
            tup = [row_id]
            for name in names:
                v = values.get(name)
                tup.append(encode[name](v) if name in encode and v is not None else v)
            tup.append(bool(values.get(DELETED, False)))
            tup.append(encode_versions(versions))
            params.append(tuple(tup))
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols[1:])
        insert_rows(self, tname, cols, params, f"ON CONFLICT (id) DO UPDATE SET {sets}")

    def buried_ids(self, tname, ids):
        """Return the subset of ``ids`` whose tombstones compaction removed from a table."""
        return {r[0] for r in rows_where_in(self, "SELECT row_id FROM sync_graveyard WHERE tbl = ? AND {in}", "row_id",
                                            ids, (tname,))}

    def scopes_of(self, tname, ids, other_than=None):
        """Return {id: compound id} of the rows of ``ids`` stored in a table (deleted ones included).

        ``other_than`` (a compound id) leaves out the rows of that compound: a push asks only for strangers.
        """
        scope = self.catalog[tname].scope
        col = "id" if scope == "id" else scope
        if other_than is None:
            return dict(rows_where_in(self, f"SELECT id, {col} FROM {tname} WHERE {{in}}", "id", ids))
        return dict(rows_where_in(self, f"SELECT id, {col} FROM {tname} WHERE {col} <> ? AND {{in}}", "id", ids,
                                  (other_than,)))

    def existing_ids(self, tname, ids):
        """Return the subset of ``ids`` already stored in a table."""
        return {r[0] for r in rows_where_in(self, f"SELECT id FROM {tname} WHERE {{in}}", "id", ids)}

    def insert_appended(self, tname, changes, known_new=False):
        """Insert immutable rows from their creating changes; a row already stored is left alone.

        ``known_new``: the caller found none of them stored in this same write transaction.
        """
        table = self.catalog[tname]
        names = table.field_names
        encode = _encoders(table)
        cols = ("id",) + names + ("_seq", "_origin", "_oseq", "_hlc")
        params = []
        for ch in changes:
            data = ch["data"]
            vals = [data.get(name) for name in names]
            for name in encode:
                i = names.index(name)
                if vals[i] is not None:
                    vals[i] = encode[name](vals[i])
            params.append((ch["id"], *vals, ch["lseq"], ch["origin"], ch["seq"], ch["hlc"]))
        insert_rows(self, tname, cols, params, "ON CONFLICT (id) DO NOTHING", known_new)

    # -- change log ----------------------------------------------------------------------------
    def lock(self):
        """Take the write lock (PostgreSQL): the counter row, created on first use."""
        self.execute("INSERT INTO sync_counter (name, value) VALUES ('log', 0) ON CONFLICT (name) DO NOTHING")
        self.rows("SELECT value FROM sync_counter WHERE name = 'log' FOR UPDATE")

    def take_seqs(self, n):
        """Reserve ``n`` consecutive log positions and return the first."""
        last = self.rows("UPDATE sync_counter SET value = value + ? WHERE name = 'log' RETURNING value", (n,))
        if not last:  # a new database: the counter row is created on first use
            self.execute("INSERT INTO sync_counter (name, value) VALUES ('log', ?)", (n,))
            return 1
        return last[0][0] - n + 1

    def log_end(self):
        """Return the last log position handed out (in this snapshot)."""
        r = self.rows("SELECT value FROM sync_counter WHERE name = 'log'")
        return r[0][0] if r else 0

    def append_log(self, changes):
        """Append changes of mutable tables (with lseq, origin, seq, hlc, id, scope, data, prev) to the log."""
        insert_rows(
            self, "sync_log", ("seq", "origin", "oseq", "hlc", "tbl", "row_id", "scope", "data", "prev"),
            [(c["lseq"], c["origin"], c["seq"], c["hlc"], c["table"], c["id"], c.get("scope"), _dumps(c["data"]),
              _dumps(c["prev"]) if c.get("prev") else None) for c in changes])

    def _log_rows(self, where_log, params_log, where_app, params_app, limit):
        """Read the log and every append-only table in log order: (seq, origin, oseq, hlc, tbl, id, data, prev).

        Each source is read in order up to ``limit`` (each is keyed by its log position, so that is
        an index range, never a sort of the whole log) and the streams are merged here.
        ``where_app`` may name ``{scope}``, replaced by each append-only table's scope column.
        """
        streams = [self.plain_rows(f"SELECT seq, origin, oseq, hlc, tbl, row_id, data, prev FROM sync_log "
                                   f"WHERE {where_log} ORDER BY seq LIMIT ?", [*params_log, limit])]
        for t in self.catalog:
            if t.append_only:
                names = t.field_names
                decode = _decoders(t)
                scope = unindexed(self.store, t.scope) if t.scope else "NULL"  # walk the log position
                where = where_app.format(scope=scope)
                rows = self.plain_rows(f"SELECT _seq, _origin, _oseq, _hlc, id, {', '.join(names)} "
                                       f"FROM {t.name} WHERE {where} ORDER BY _seq LIMIT ?",
                                       [*params_app, limit])
                streams.append([(r[0], r[1], r[2], r[3], t.name, r[4], (names, decode, r[5:]), None) for r in rows])
        out = []
        for r in heapq.merge(*streams, key=_first) if len(streams) > 1 else streams[0]:
            if len(out) == limit:
                break
            if type(r[6]) is tuple:  # an appended row: its data is its columns
                names, decode, vals = r[6]
                data = {n: v for n, v in zip(names, vals) if v is not None}
                for n in decode.keys() & data.keys():
                    data[n] = decode[n](data[n])
                r = r[:6] + (_dumps(data), None)
            out.append(r)
        return out

    def log_page(self, after, exclude_origin, scope, limit):
        """Return up to ``limit`` log rows after ``after`` for a scope, and the log's end in this snapshot."""
        wl, wa, pl = ["seq > ?"], ["_seq > ?"], [after]
        if exclude_origin is not None:
            wl.append("origin <> ?")
            wa.append("_origin <> ?")
            pl.append(exclude_origin)
        if scope is not None:
            wl.append("(scope = ? OR scope IS NULL)")
            wa.append("({scope} = ? OR {scope} IS NULL)")
            pl.append(scope)
        # Read the end first and never past it: on PostgreSQL each statement sees a newer snapshot, and
        # a position committed between the log query and a table query must not be stepped over.
        high = self.log_end()
        wl.append("seq <= ?")
        wa.append("_seq <= ?")
        pl.append(high)
        return self._log_rows(" AND ".join(wl), pl, " AND ".join(wa), pl, limit), high

    def own_log_rows(self, origin, after_lseq, limit, after_oseq=0):
        """Return this origin's log rows after ``after_lseq`` numbered after ``after_oseq`` (data as JSON text), in order."""
        params = [origin, after_lseq, after_oseq]
        return self._log_rows("origin = ? AND seq > ? AND oseq > ?", params,
                              "_origin = ? AND _seq > ? AND _oseq > ?", params, limit)

    def own_changes(self, origin, after_lseq, limit):
        """Return [(log position, change)] of this origin after ``after_lseq``, in order."""
        rows = self.own_log_rows(origin, after_lseq, limit)
        out = []
        for seq, _origin, oseq, hlc, tbl, row_id, data, prev in rows:
            ch = {"seq": oseq, "hlc": hlc, "table": tbl, "id": row_id, "data": _loads(data)}
            if prev:
                ch["prev"] = _loads(prev)
            out.append((seq, ch))
        return out

    def lseq_of(self, origin, oseq):
        """Return the log position of one of an origin's changes (0 if there is none)."""
        r = self.rows("SELECT seq FROM sync_log WHERE origin = ? AND oseq = ?", (origin, oseq))
        for t in self.catalog:
            if t.append_only and not r:
                r = self.rows(f"SELECT _seq FROM {t.name} WHERE _origin = ? AND _oseq = ?", (origin, oseq))
        return r[0][0] if r else 0

    def seen_origins(self):
        """Return {origin: highest sequence applied}."""
        return {o: s for o, s in self.rows("SELECT origin, max_oseq FROM sync_origins")}

    def save_seen(self, updates):
        """Record the highest sequence applied per origin."""
        self.executemany("INSERT INTO sync_origins (origin, max_oseq) VALUES (?, ?) "
                         "ON CONFLICT (origin) DO UPDATE SET max_oseq = excluded.max_oseq",
                         list(updates.items()))

    def max_hlc(self):
        """Return the highest stamp in the change log and append-only tables (0 when empty)."""
        best = self.rows("SELECT COALESCE(MAX(hlc), 0) FROM sync_log")[0][0]
        for t in self.catalog:
            if t.append_only:
                best = max(best, self.rows(f"SELECT COALESCE(MAX(_hlc), 0) FROM {t.name}")[0][0])
        return best

    # -- conflicts and state ---------------------------------------------------------------
    def insert_conflicts(self, conflicts, detected_hlc):
        """Store detected conflicts; one already recorded is not recorded twice."""
        self.executemany(
            "INSERT INTO sync_conflicts (detected_hlc, tbl, row_id, field, winner_value, winner_hlc, "
            "winner_origin, loser_value, loser_hlc, loser_origin, status) VALUES (?,?,?,?,?,?,?,?,?,?,'open') "
            "ON CONFLICT DO NOTHING",
            [(detected_hlc, c.table, c.row_id, c.field, _dumps(c.winner_value), c.winner_hlc, c.winner_origin,
              _dumps(c.loser_value), c.loser_hlc, c.loser_origin) for c in conflicts])

    def get_state(self, key, default=None):
        """Read one value of the replica's own state."""
        r = self.rows("SELECT value FROM sync_state WHERE key = ?", (key,))
        return _loads(r[0][0]) if r else default

    def set_state(self, key, value):
        """Write one value of the replica's own state."""
        self.execute("INSERT INTO sync_state (key, value) VALUES (?, ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, _dumps(value)))


def _decoders(table):
    out = {}
    for f in table.fields:
        if f.type == "bool":
            out[f.name] = bool
        elif f.type == "json":
            out[f.name] = _loads
    return out


def _encoders(table):
    return {f.name: _dumps for f in table.fields if f.type == "json"}
