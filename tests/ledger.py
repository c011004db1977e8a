"""The client's own record of what replicas acknowledged, and how a replica's stored rows compare with it.

Fault tests keep this record from the answers they received (an event id per client key, a hub edit's value
and stamp); the replicas never write it, so a write lost or doubled on every replica alike still shows.
"""
from collections import Counter

#: One stored gate event: its id, the client's key (sent as ``operator``), and its origin and sequence number.
EVENT_ROWS = "SELECT id, operator, _origin, _oseq FROM gate_events"


def tally_events(answered, rows, unanswered=()):
    """Count how one replica's gate events differ from the client's record.

    ``answered`` maps each client key the client got an answer for to the event id it was answered with;
    ``rows`` are the replica's (id, client key, origin, sequence) rows; ``unanswered`` holds keys sent
    whose answer never came (cut off by a kill), which may or may not have been stored.
    """
    keys = Counter(r[1] for r in rows)
    seqs = Counter((r[2], r[3]) for r in rows)
    ids = {r[1]: r[0] for r in rows}
    return {
        "lost": sum(1 for k in answered if k not in keys),
        "duplicated": max(len(rows) - len(keys), len(rows) - len(seqs)),  # a second row for one key or one (origin, seq)
        "wrong_id": sum(1 for k, e in answered.items() if k in ids and ids[k] != e),
        "unasked": sum(1 for k in keys if k not in answered and k not in set(unanswered)),
    }


def assert_exactly_once(answered, rows, where, unanswered=()):
    """Assert a replica holds every answered event once under its answered id, and nothing nobody sent."""
    t = tally_events(answered, rows, unanswered)
    assert t == {"lost": 0, "duplicated": 0, "wrong_id": 0, "unasked": 0}, f"{where}: {t}"
    return t


def expected_values(original, acknowledged, unanswered):
    """The values each row's field may hold at the end: the acknowledged edit with the highest stamp (or the
    original value if none was acknowledged), or an edit sent after it whose answer never came (it may have
    committed before a kill). ``original``: {row: value}; ``acknowledged``: [(row, value, hlc)] in the order
    answered; ``unanswered``: [(row, value, how many edits had been acknowledged when it was sent)]."""
    last = {row: (value, -1, -1) for row, value in original.items()}
    for i, (row, value, hlc) in enumerate(acknowledged):
        if hlc > last[row][1]:
            last[row] = (value, hlc, i)
    want = {row: {value} for row, (value, _, _) in last.items()}
    for row, value, acked_before in unanswered:
        if acked_before > last[row][2]:
            want[row].add(value)
    return want
