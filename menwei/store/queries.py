"""The small query layer every feature shares: which compound a request is about, what a node has not sent, and
the live (not deleted) rows of a table — written here once instead of a ``_deleted = ?`` filter in every query."""
from sync.tables import DELETED

from menwei.runtime import runtime
from menwei.web.errors import ApiError


def current_compound(tx, given=None, field="compound_id"):
    """The compound a request is about: the one named (it must exist), else this node's own, else the one
    the signed-in account serves or the hub's only one; a 400 naming ``field`` when that is unclear."""
    if given:
        if not tx.rows("SELECT 1 FROM compounds WHERE id = ?", (given,)):
            raise ApiError(404, f"没有这个小区 no compound {given}", fields={"compound_id": "unknown compound"})
        return given
    own = runtime().compound_id
    if own:
        return own
    from menwei.web.auth import served_compounds  # auth reads the store; the store does not need auth to load
    served = served_compounds()
    if served is not None and len(served) == 1:
        return next(iter(served))
    rows = live_tuples(tx, "compounds", ["id"], limit=2)
    if len(rows) != 1:
        raise ApiError(400, "这台服务器管理多个小区，请指明是哪个 this hub serves several compounds: say which one",
                       fields={field: "compound unknown"})
    return rows[0][0]


def pending_changes(rt):
    """How many of this replica's own changes the hub has not yet acknowledged."""
    return max(rt.replica.own_seq() - rt.state("pushed_seq", 0), 0)


def _live_sql(table, cols, where, order=None, limit=None):
    sql = f"SELECT {', '.join(cols)} FROM {table} WHERE {DELETED} = ?" + (f" AND ({where})" if where else "")
    return sql + (f" ORDER BY {order}" if order else "") + (f" LIMIT {int(limit)}" if limit is not None else "")


def live_rows(tx, table, cols, where="", params=(), order=None, limit=None):
    """The rows of ``table`` that are not deleted, as dicts of ``cols``, narrowed by a SQL ``where``."""
    return [dict(zip(cols, r)) for r in tx.rows(_live_sql(table, cols, where, order, limit), (False, *params))]


def live_tuples(tx, table, cols, where="", params=(), order=None, limit=None):
    """The same rows as ``live_rows``, as tuples of ``cols`` (for callers that unpack them)."""
    return [tuple(r) for r in tx.rows(_live_sql(table, cols, where, order, limit), (False, *params))]


def live_ids(tx, table, where="", params=(), order=None):
    """The ids of the live rows of ``table`` matching ``where``."""
    return [r[0] for r in tx.rows(_live_sql(table, ["id"], where, order), (False, *params))]


def one_row(tx, table, where, params=(), cols=None):
    """One live row of ``table`` matching ``where`` as a dict of ``cols`` (default: its id and every field), or None."""
    cols = list(cols or ["id", *runtime().catalog[table].field_names])
    rows = live_rows(tx, table, cols, where, params, limit=1)
    return rows[0] if rows else None


def exists(tx, table, where, params=()):
    """Whether ``table`` has a live row matching ``where``."""
    return bool(tx.rows(_live_sql(table, ["1"], where, limit=1), (False, *params)))


def names_of(tx, table, column, where="", params=()):
    """{id: ``column``} of every live row of ``table`` (narrowed by ``where``): a volunteer's name, a household's room."""
    return dict(tx.rows(_live_sql(table, ["id", column], where), (False, *params)))
