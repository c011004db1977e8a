"""Change-log rules: which incoming changes are new, whether an origin's sequence is unbroken, and cursors."""


class SequenceGap(Exception):
    """An origin's changes skip sequence numbers: something between them was never received."""

    def __init__(self, origin, expected, got):
        self.origin, self.expected, self.got = origin, expected, got
        super().__init__(
            f"changes from {origin} jump from sequence {expected - 1} to {got}: "
            f"the replica must resend from {expected}"
        )


def fresh_changes(changes, seen, contiguous):
    """Drop changes already applied and return the rest, in order.

    ``seen`` maps origin -> highest sequence applied so far. Each origin's sequence numbers must
    increase; with ``contiguous`` (a node pushing its own outbox) they must also follow on without a
    gap, so a lost batch is detected instead of silently skipped. ``seen`` is updated in place.
    """
    out = []
    for ch in changes:
        origin, seq = ch["origin"], ch["seq"]
        last = seen.get(origin, 0)
        if seq <= last:
            continue
        if contiguous and seq != last + 1:
            raise SequenceGap(origin, last + 1, seq)
        seen[origin] = seq
        out.append(ch)
    return out


def next_cursor(returned_seqs, limit, high_water):
    """Return (cursor, more) for a pull page.

    When the page is full the cursor is the last sequence returned and more may follow; otherwise
    the reader has seen everything up to ``high_water`` (the log's end in the same snapshot), which
    may lie past the last returned row when the rows after it were filtered out.
    """
    if len(returned_seqs) >= limit:
        return returned_seqs[-1], True
    return max(high_water, returned_seqs[-1] if returned_seqs else 0), False  # rows never lie past high_water


def batches(items, size):
    """Yield consecutive slices of ``items`` of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
