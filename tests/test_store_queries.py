"""The store's live-rows layer (menwei/store/queries.py): every helper leaves deleted rows out and keeps to its
where, parameters, order and limit."""
from conftest import AUTH
from menwei.store.queries import exists, live_ids, live_rows, live_tuples, names_of, one_row


def test_the_live_rows_helpers_leave_deleted_rows_out_and_keep_to_their_filter(app, client):
    def row(table, **data):
        r = client.post(f"/api/v1/rows/{table}", json=data, headers=AUTH)
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    cid = row("compounds", name="绿景水岸小区")
    b20, b1, gone = (row("buildings", compound_id=cid, number=n, name=f"{n}栋") for n in ("20", "1", "9"))
    other = row("compounds", name="另一个小区")
    b3 = row("buildings", compound_id=other, number="3")
    assert client.delete(f"/api/v1/rows/buildings/{gone}", headers=AUTH).status_code == 200
    rt = app.extensions["menwei"]
    with app.app_context(), rt.store.read() as tx:
        stored = {r[0] for r in tx.rows("SELECT id FROM buildings")}  # the tombstone is still a row
        assert stored == {b20, b1, gone, b3}
        assert live_rows(tx, "buildings", ("id", "number"), "compound_id = ?", (cid,), order="number") == [
            {"id": b1, "number": "1"}, {"id": b20, "number": "20"}]
        assert live_tuples(tx, "buildings", ("number",), order="number DESC", limit=2) == [("3",), ("20",)]
        assert sorted(live_ids(tx, "buildings")) == sorted([b20, b1, b3])
        assert live_ids(tx, "buildings", "compound_id = ?", (other,)) == [b3]
        assert names_of(tx, "buildings", "number", "compound_id = ?", (cid,)) == {b20: "20", b1: "1"}
        assert one_row(tx, "buildings", "number = ?", ("20",))["name"] == "20栋"
        assert one_row(tx, "buildings", "id = ?", (gone,)) is None
        assert one_row(tx, "buildings", "id = ?", (b1,), cols=("number",)) == {"number": "1"}
        assert exists(tx, "buildings", "id = ?", (b20,)) and not exists(tx, "buildings", "id = ?", (gone,))
