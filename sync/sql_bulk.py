"""Bulk statements of the SQL adapter, one form per database.

SQLite runs an INSERT once per row through executemany, which costs it a few microseconds. On
PostgreSQL that executemany is one Bind/Execute per row (about 40 µs a row, client and server;
multi-row VALUES or unnest arrays are no better, psycopg dumps arrays in Python): rows go in by
COPY instead (psycopg formats them in C), straight into the table when nothing can conflict, else
into a temporary table first and from there by one INSERT … SELECT … ON CONFLICT. ``id = ANY(…)`` of
one JSON list likewise replaces chunked ``IN (…)`` lists.
"""
import orjson

SQLITE_IN = 500  # SQLite allows at most 32,766 parameters; a modest IN list keeps its plans cheap


def insert_rows(txn, tname, cols, params, tail="", known_new=False):
    """Insert many rows (tuples in ``cols`` order) into ``tname``, followed by ``tail`` (ON CONFLICT …).

    ``known_new``: the caller checked, under the write lock, that none of the rows exists, so on
    PostgreSQL they are copied straight into the table (a conflict would still fail the transaction).
    """
    if not params:
        return
    txn.written += len(params)
    if not txn.store.pg:
        txn.executemany(f"INSERT INTO {tname} ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))}) {tail}",
                        params)
        return
    collist = ", ".join(cols)
    cur = txn.conn.connection.driver_connection.cursor()
    try:
        target = tname
        if known_new:
            tail = ""
        if tail:
            target = f"_bulk_{tname}"
            # Per session, emptied at each commit: created once per pooled connection, never bloats.
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {target} (LIKE {tname} INCLUDING DEFAULTS) "
                        "ON COMMIT DELETE ROWS")
        with cur.copy(f"COPY {target} ({collist}) FROM STDIN") as copy:
            write = copy.write_row
            for row in params:
                write(row)
        if tail:
            cur.execute(f"INSERT INTO {tname} ({collist}) SELECT {collist} FROM {target} {tail}")
            cur.execute(f"TRUNCATE {target}")  # a second call in the same transaction starts empty
    finally:
        cur.close()


def unindexed(store, column):
    """``column`` in an equality test SQLite must take no index for: pages walk the key they are ordered by.

    Without statistics SQLite takes any index on ``column = ?`` and sorts what it finds, for every page:
    paging through a compound's million gate events that way reads and sorts them all again per page.
    The unary plus keeps the index out; PostgreSQL plans from its statistics and has no plus for text.
    """
    return column if store.pg else f"+{column}"


def rows_where_in(txn, sql, column, values, extra=()):
    """Run ``sql`` (ending in WHERE … with ``{in}`` for the test on ``column``) for every value; return rows.

    ``extra`` parameters come before the values.
    """
    values = list(values)
    if not values:
        return []
    if txn.store.pg:
        # One JSON text, not an array: psycopg dumps a list element by element in Python (5,000 ids
        # 19–20 ms a query, measured), orjson the whole list in C and the server splits it (13 ms).
        test = f"{column} = ANY(ARRAY(SELECT json_array_elements_text(?::json)))"
        return txn.conn.exec_driver_sql(txn._sql(sql.format(**{"in": test})),
                                        (*extra, orjson.dumps(values).decode())).fetchall()
    out = []
    for i in range(0, len(values), SQLITE_IN):
        part = values[i:i + SQLITE_IN]
        out += txn.rows(sql.format(**{"in": f"{column} IN ({','.join('?' * len(part))})"}), [*extra, *part])
    return out
