"""Bulk inserts and id look-ups of the SQL adapter (COPY on PostgreSQL, executemany on SQLite) keep every value."""
import uuid

from menwei.runtime import runtime
from sync.sql_bulk import rows_where_in

AWKWARD = ["tab\there", "new\nline", "back\\slash", "quote ' \" ", "门卫 \\N", "", "\\.", "\r\n"]


def test_upserted_rows_keep_awkward_text_numbers_and_booleans(app):
    with app.app_context():
        rep = runtime().replica
        cid = str(uuid.uuid4())
        rep.insert("compounds", cid, {"name": "x"})
        hh = rep.insert("households", str(uuid.uuid4()), {"compound_id": cid, "building_id": "b", "room": "1"})["id"]
        ids = []
        writes = []
        for i, text in enumerate(AWKWARD):
            rid = str(uuid.uuid4())
            ids.append(rid)
            writes.append(("residents", rid, {"compound_id": cid, "household_id": hh, "name": f"n{i}",
                                              "notes": text, "party_member": i % 2 == 0}))
        writes.append(("gate_events", str(uuid.uuid4()), {"compound_id": cid, "gate": "g", "direction": "in",
                                                           "at": "2020-02-04T08:30:00", "decision": "allowed",
                                                           "reasons": ["a\tb", {"k": "\\"}], "temperature": 37,
                                                           "notes": "\\N"}))
        rep.write(writes)
        rep.update("residents", ids[0], {"notes": "again\t\\"})  # an upsert over an existing row
        with rep.store.read() as tx:
            rows = tx.load_rows("residents", ids)
            ev = tx.rows("SELECT reasons, temperature, notes FROM gate_events")
            log = tx.rows("SELECT data FROM sync_log WHERE row_id = ?", (ids[1],))
        assert [rows[r][0]["notes"] for r in ids] == ["again\t\\"] + AWKWARD[1:]
        assert [rows[r][0]["party_member"] for r in ids] == [i % 2 == 0 for i in range(len(AWKWARD))]
        assert ev == [('["a\\tb",{"k":"\\\\"}]', 37.0, "\\N")]
        assert '"notes":"new\\nline"' in log[0][0]


def test_id_lookup_beyond_one_chunk(app):
    with app.app_context():
        rep = runtime().replica
        cid = str(uuid.uuid4())
        rep.insert("compounds", cid, {"name": "x"})
        ids = [str(uuid.uuid4()) for _ in range(1200)]
        rep.write([("buildings", i, {"compound_id": cid, "number": str(n)}) for n, i in enumerate(ids)])
        with rep.store.read() as tx:
            wanted = ids[::2] + ["missing"]
            got = rows_where_in(tx, "SELECT id FROM buildings WHERE {in}", "id", wanted)
            assert sorted(r[0] for r in got) == sorted(ids[::2])
            assert rows_where_in(tx, "SELECT id FROM buildings WHERE {in}", "id", []) == []
            assert len(tx.existing_ids("buildings", ids + ["nope"])) == 1200
