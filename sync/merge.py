"""Per-field last-writer-wins merge with conflict detection, and union merge for append-only rows.

A field's version is ``[hlc, origin]``; versions compare as tuples, so the winner is the same on
every replica whatever order changes arrive in. A change carries, for each field it writes, the
version its writer had seen (``prev``). An incoming write whose ``prev`` is not the version it
replaces was made without knowledge of it: the merge still picks the winner by stamp, and records a
Conflict so nobody's write disappears silently.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Conflict:
    """Two concurrent writes to one field: the one kept and the one overwritten."""

    table: str
    row_id: str
    field: str
    winner_value: object
    winner_hlc: int
    winner_origin: str
    loser_value: object
    loser_hlc: int
    loser_origin: str


def merge_fields(table, row_id, values, versions, data, hlc, origin, prev, conflicts):
    """Merge one change's fields into a row's ``values`` and ``versions`` in place; return True if any changed."""
    changed = False
    for name, value in data.items():
        cur = versions.get(name)
        if cur is None:
            values[name] = value
            versions[name] = [hlc, origin]
            changed = True
            continue
        cur_hlc, cur_origin = cur[0], cur[1]
        if cur_hlc == hlc and cur_origin == origin:
            continue  # this very write is already here
        seen = prev.get(name) if prev else None
        knew = seen is not None and seen[0] == cur_hlc and seen[1] == cur_origin
        if (hlc, origin) > (cur_hlc, cur_origin):
            if not knew:
                conflicts.append(Conflict(table, row_id, name, value, hlc, origin,
                                          values.get(name), cur_hlc, cur_origin))
            values[name] = value
            versions[name] = [hlc, origin]
            changed = True
        elif not knew:
            conflicts.append(Conflict(table, row_id, name, values.get(name), cur_hlc, cur_origin,
                                      value, hlc, origin))
    return changed


@dataclass
class BatchMerge:
    """The outcome of merging a batch: rows to write, append-only rows to insert, conflicts found."""

    dirty: dict       # table -> {row_id: [values, versions]}
    appended: dict    # table -> [change, ...] (new append-only rows, first writer only)
    conflicts: list


def merge_batch(catalog, changes, rows, existing_append_ids):
    """Merge ``changes`` (in order) into preloaded ``rows`` ({table: {id: [values, versions]}}).

    ``existing_append_ids`` is {table: set of ids already stored} for append-only tables. Rows not
    in ``rows`` are created. Returns a BatchMerge naming exactly what must be written.
    """
    dirty, appended, conflicts = {}, {}, []
    tables = catalog.tables
    for ch in changes:
        tname, row_id = ch["table"], ch["id"]
        if tables[tname].append_only:
            seen = existing_append_ids.setdefault(tname, set())
            if row_id not in seen:  # union: the first copy of an immutable row is the row
                seen.add(row_id)
                appended.setdefault(tname, []).append(ch)
            continue
        table_rows = rows.setdefault(tname, {})
        row = table_rows.get(row_id)
        if row is None:
            row = table_rows[row_id] = [{}, {}]
        if merge_fields(tname, row_id, row[0], row[1], ch["data"], ch["hlc"], ch["origin"],
                        ch.get("prev"), conflicts):
            dirty.setdefault(tname, {})[row_id] = row
    return BatchMerge(dirty, appended, conflicts)
