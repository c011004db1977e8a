"""The small query layer every feature shares: which compound a request is about, and what a node has not sent."""
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
    rows = tx.rows(f"SELECT id FROM compounds WHERE {DELETED} = ? LIMIT 2", (False,))
    if len(rows) != 1:
        raise ApiError(400, "这台服务器管理多个小区，请指明是哪个 this hub serves several compounds: say which one",
                       fields={field: "compound unknown"})
    return rows[0][0]


def pending_changes(rt):
    """How many of this replica's own changes the hub has not yet acknowledged."""
    return max(rt.replica.own_seq() - rt.state("pushed_seq", 0), 0)


def live_rows(tx, table, cols, where="", params=(), order=None):
    """The rows of ``table`` that are not deleted, as dicts of ``cols``, narrowed by a SQL ``where``."""
    sql = f"SELECT {', '.join(cols)} FROM {table} WHERE {DELETED} = ?" + (f" AND ({where})" if where else "")
    return [dict(zip(cols, r)) for r in tx.rows(sql + (f" ORDER BY {order}" if order else ""), (False, *params))]


def names_of(tx, table, column):
    """{id: ``column``} of every row of ``table`` not deleted: a volunteer's name, a household's room."""
    return dict(tx.rows(f"SELECT id, {column} FROM {table} WHERE {DELETED} = ?", (False,)))
