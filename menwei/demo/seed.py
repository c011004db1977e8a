"""Write the demo compound into a replica as ordinary local writes, so it syncs like any other data."""
from menwei.demo.data import generate_compound

_TABLE_OF = (("compounds", "compound"), ("buildings", "buildings"), ("households", "households"),
             ("residents", "residents"), ("vehicles", "vehicles"))


def seed_demo(replica, seed=2020):
    """Create the demo compound (buildings, households, residents, vehicles) unless one exists; return its id and counts."""
    data = generate_compound(seed)
    compound = data["compound"]
    with replica.store.read() as tx:
        if tx.rows("SELECT id FROM compounds WHERE id = ?", (compound["id"],)):
            return compound["id"], {}
    writes, counts = [], {}
    for table, key in _TABLE_OF:
        items = data[key] if isinstance(data[key], list) else [data[key]]
        fields = replica.catalog[table].by_name
        for item in items:
            writes.append((table, item["id"], {k: v for k, v in item.items() if k in fields and v not in ("", None)}))
        counts[table] = len(items)
    replica.write(writes, create=True)
    return compound["id"], counts
