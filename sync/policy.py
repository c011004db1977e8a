"""What a node may write, as the catalog declares it per table: checked on every local write and on every push.

Two rules: a table declared ``hub_only`` (accounts) is written only at the hub; and every reference a row
makes (``Field.refs``: its household, resident, pass, vehicle, order, shift…) names a row of the row's own
compound. A reference to a row this replica has never stored is let through: the row may have been
compacted away, and it names nothing another compound holds here. Pure: the store is a parameter.
"""

HUB_ONLY = "hub_only"
FOREIGN_REFERENCE = "foreign_reference"


def hub_only_message(table):
    """Why a node's write of a hub-only table is refused, for the person who reads it."""
    return (f"{table.name} 只能在社区总台（hub）建立和修改，请到总台操作 — "
            f"{table.name} are made and changed only at the hub: do it there")


def foreign_reference_message(field):
    """Why a reference to another compound's row is refused."""
    return f"{field.name} 指向另一个小区的记录 — {field.name} names a row of another compound"


class CompoundsOfRows:
    """The compound of every row a batch of writes refers to: read once, then kept up as the batch makes rows."""

    def __init__(self, catalog, tx, items, other_than=None):
        """``items``: (table, data) of every write of the batch, to read the rows their references name.

        ``other_than``: every row of the batch belongs to that compound (a node's push), so only rows of
        other compounds need reading (normally none: a quick answer).
        """
        wanted = {}
        for table, data in items:
            for f in table.references:
                v = data.get(f.name)
                if v is not None:
                    wanted.setdefault(f.refs, set()).add(v)
        self.known = {t: tx.scopes_of(t, ids, other_than) for t, ids in wanted.items()}
        self.catalog = catalog

    def problems(self, table, data, row_scope):
        """{field: message} for each reference in ``data`` to a row of a compound other than ``row_scope``."""
        out = {}
        for f in table.references:
            v = data.get(f.name)
            if v is None:
                continue
            target = self.known.get(f.refs, {}).get(v)
            if target is not None and target != row_scope:
                out[f.name] = foreign_reference_message(f)
        return out

    def made(self, table, row_id, row_scope):
        """Note a row this batch writes, so later writes of the batch may refer to it."""
        if row_scope is not None:
            self.known.setdefault(table.name, {}).setdefault(row_id, row_scope)
