"""The hub's register of nodes: enrolment codes, token hashes, revocation and each node's sync health.

Tokens are 256-bit random strings, so a fast SHA-256 hash is enough to store them (slow password
hashes are for guessable secrets); enrolment codes are short, single-use and expire.
"""
import hashlib
import secrets

from .compaction import ack_key

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud over a phone
CODE_TTL_MS = 24 * 3600 * 1000
PULL_RUN_MS = 60_000
_NODE_COLS = ("id", "compound_id", "label", "revoked", "created_ms", "last_seen_ms", "last_push_ms",
              "last_pull_ms", "skew_ms", "schema_version", "pending", "last_error")


def digest(secret):
    """Return the stored hash of a token or code."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_code():
    """Return a fresh one-time enrolment code such as ``K7QM-2XPA``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return raw[:4] + "-" + raw[4:]


def normalise_code(code):
    """Accept a code typed in lower case, with spaces or without its dash."""
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return raw[:4] + "-" + raw[4:]


class NodeRegistry:
    """Nodes known to the hub, in the hub's store."""

    def __init__(self, store, wall):
        self.store, self.wall = store, wall

    def add(self, node_id, compound_id, label=""):
        """Register a node and return a new one-time enrolment code.

        Registering an existing node again re-issues its code and voids its current token.
        """
        code = new_code()
        now = self.wall()
        with self.store.write() as tx:
            tx.execute("INSERT INTO sync_nodes (id, compound_id, label, code_hash, code_expires_ms, revoked, "
                       "created_ms) VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
                       "compound_id = excluded.compound_id, label = excluded.label, code_hash = excluded.code_hash, "
                       "code_expires_ms = excluded.code_expires_ms, revoked = excluded.revoked, token_hash = NULL",
                       (node_id, compound_id, label, digest(code), now + CODE_TTL_MS, False, now))
        return code

    def enroll(self, code, node_id=None):
        """Exchange a valid one-time code for a new token; return (token, node), or None if the code is wrong."""
        token = secrets.token_urlsafe(32)
        code_hash = digest(normalise_code(code))
        with self.store.write() as tx:
            rows = tx.rows("SELECT id, code_expires_ms, revoked FROM sync_nodes WHERE code_hash = ?", (code_hash,))
            if not rows:
                return None
            found, expires, revoked = rows[0]
            if revoked or expires < self.wall() or (node_id is not None and node_id != found):
                return None
            tx.execute("UPDATE sync_nodes SET token_hash = ?, code_hash = NULL WHERE id = ?", (digest(token), found))
        return token, self.get(found)

    def by_token(self, token):
        """Return the node a token belongs to (revoked ones included), or None."""
        with self.store.read() as tx:
            rows = tx.rows(f"SELECT {', '.join(_NODE_COLS)} FROM sync_nodes WHERE token_hash = ?", (digest(token),))
        return dict(zip(_NODE_COLS, rows[0])) if rows else None

    def get(self, node_id):
        """Return one node as a dict, or None."""
        with self.store.read() as tx:
            rows = tx.rows(f"SELECT {', '.join(_NODE_COLS)} FROM sync_nodes WHERE id = ?", (node_id,))
        return dict(zip(_NODE_COLS, rows[0])) if rows else None

    def all(self):
        """Return every registered node, by id."""
        with self.store.read() as tx:
            rows = tx.rows(f"SELECT {', '.join(_NODE_COLS)} FROM sync_nodes ORDER BY id")
        return [dict(zip(_NODE_COLS, r)) for r in rows]

    def _diary(self, tx, node_id, kind, now, oseqs, error):
        # Quiet pulls every few seconds would fill the diary: a run of them, each within a minute of
        # the last, extends one row; pushes and refusals always get their own.
        if kind == "pull" and error is None:
            n = tx.execute("UPDATE sync_contacts SET until_ms = ? WHERE id = (SELECT MAX(id) FROM sync_contacts "
                           "WHERE node_id = ?) AND kind = 'pull' AND error IS NULL AND until_ms >= ?",
                           (now, node_id, now - PULL_RUN_MS)).rowcount
            if n:
                return
        first, last = oseqs or (None, None)
        tx.execute("INSERT INTO sync_contacts (node_id, at_ms, until_ms, kind, first_oseq, last_oseq, error) "
                   "VALUES (?,?,?,?,?,?,?)", (node_id, now, now, kind, first, last, error))

    def contacts(self, node_id, since_ms=None, until_ms=None):
        """The node's visits [(at_ms, until_ms, kind, first_oseq, last_oseq, error)], oldest first."""
        sql = "SELECT at_ms, until_ms, kind, first_oseq, last_oseq, error FROM sync_contacts WHERE node_id = ?"
        args = [node_id]
        if since_ms is not None:
            sql += " AND until_ms >= ?"
            args.append(since_ms)
        if until_ms is not None:
            sql += " AND at_ms <= ?"
            args.append(until_ms)
        with self.store.read() as tx:
            return [tuple(r) for r in tx.rows(sql + " ORDER BY at_ms, id", args)]

    def revoke(self, node_id):
        """Revoke a node's token and pending code; return False if there is no such node."""
        with self.store.write() as tx:
            n = tx.execute("UPDATE sync_nodes SET revoked = ?, code_hash = NULL WHERE id = ?",
                           (True, node_id)).rowcount
        return n > 0

    def record_contact(self, node_id, kind, clock_ms, schema_version, pending, error=None, tx=None, oseqs=None,
                       cursor=None):
        """Note a node's visit: when, its clock skew against ours, its schema and queue, any refusal.

        Pass ``tx`` to record it inside a transaction already open (a push's), saving a commit;
        ``oseqs`` is the (first, last) origin sequence a push delivered, so late arrivals can be found;
        ``cursor`` is a pull's cursor: the node has everything up to it (compaction prunes behind it).
        """
        if tx is None:
            with self.store.write() as tx:
                return self.record_contact(node_id, kind, clock_ms, schema_version, pending, error, tx, oseqs,
                                           cursor)
        now = self.wall()
        if cursor is not None:
            tx.set_state(ack_key(node_id), cursor)
        self._diary(tx, node_id, kind, now, oseqs, error)
        skew = None if clock_ms is None else clock_ms - now
        col = "last_push_ms" if kind == "push" else "last_pull_ms"
        # A push's outcome decides the error shown; a good pull must not hide a refused push.
        err = "?" if kind == "push" else "COALESCE(?, last_error)"
        tx.execute(f"UPDATE sync_nodes SET last_seen_ms = ?, {col} = ?, skew_ms = COALESCE(?, skew_ms), "
                   f"schema_version = ?, pending = COALESCE(?, pending), last_error = {err} WHERE id = ?",
                   (now, now, skew, schema_version, pending, error, node_id))
        return skew
