"""Merging a household registered twice (the same room entered at two offline gates) into one."""
from menwei.web.errors import ApiError
from menwei.runtime import runtime
from menwei.store.queries import live_ids, live_tuples

#: Rows that name a household and move to the survivor. Gate events are append-only and keep their
#: household; the merged row's ``merged_into`` makes them count for the survivor.
REPOINTED = ("residents", "passes", "orders", "vehicles", "repayments", "incidents")


def merge_households(keep_id, merge_id, by=None):
    """Merge household ``merge_id`` into ``keep_id`` in one replicated write; return what moved."""
    if keep_id == merge_id:
        raise ApiError(400, "a household cannot be merged into itself", fields={"merge": "same as keep"})
    rt = runtime()
    with rt.store.read() as tx:
        found = {r[0]: r for r in live_tuples(tx, "households", ("id", "compound_id", "building_id", "merged_into",
                                                                 "label", "notes"), "id IN (?, ?)", (keep_id, merge_id))}
        for field, hid in (("keep", keep_id), ("merge", merge_id)):
            if hid not in found:
                raise ApiError(404, f"no household {hid}", fields={field: "unknown household"})
            if found[hid][3]:
                raise ApiError(409, f"household {hid} was already merged into {found[hid][3]}",
                               fields={field: "already merged"})
        keep, merge = found[keep_id], found[merge_id]
        if keep[1] != merge[1]:
            raise ApiError(400, "the two households belong to different compounds", fields={"merge": "other compound"})
        moved = {t: live_ids(tx, t, "household_id = ?", (merge_id,)) for t in REPOINTED}
    note = f"merged into {keep[4] or keep_id}" + (f" by {by}" if by else "")
    writes = [(t, rid, {"household_id": keep_id}) for t, ids in moved.items() for rid in ids]
    writes.append(("households", merge_id, {"merged_into": keep_id,
                                            "notes": "\n".join(x for x in (merge[5], note) if x)[:2000]}))
    # One transaction: a gate never sees residents moved but the duplicate still open, or the reverse.
    rt.replica.write(writes, create=False)
    return {"kept": keep_id, "merged": merge_id, "moved": {t: len(ids) for t, ids in moved.items() if ids}}
