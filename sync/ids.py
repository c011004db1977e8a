"""Row ids: UUIDs of version 7 (RFC 9562), a millisecond timestamp followed by random bits.

Every replicated table is keyed by a text id under a unique index, and gate events alone arrive by the
million. A random (version 4) id lands on a random page of that index, so each sync rewrites pages all
over it; ids that start with their creation time land at the index's end, as the log positions do.
The 74 random bits come from the operating system, and a forked process (a hub worker) forgets its
parent's last id, so processes never share a sequence. Within one process ids never go backwards: one
made in the same millisecond as the last (or after the clock stepped back) is the last one plus one.
"""
import os
import threading
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_BITS = 74


class IdMaker:
    """Makes version-7 ids that never go backwards; one per process (``new_id``), others for tests."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last = (0, 0)  # the last id made: (ms, its 74 random bits)

    def new_id(self, now_ms=None):
        """Return a new row id: a version-7 UUID string for the given (default: current) Unix time in ms."""
        ms = time.time_ns() // 1_000_000 if now_ms is None else int(now_ms)
        if not 0 <= ms < 1 << 48:
            raise ValueError(f"time {ms} ms is outside what a version-7 UUID can hold")
        rand = int.from_bytes(os.urandom(10), "big") >> (80 - _RAND_BITS)
        with self._lock:
            last_ms, last_rand = self._last
            if ms <= last_ms:  # same millisecond, or the clock went back: count on from the last id
                ms, rand = last_ms, last_rand + 1
                if rand >> _RAND_BITS:
                    ms, rand = ms + 1, 0
            self._last = (ms, rand)
        value = (ms << 80) | _VERSION_7 | (rand >> 62) << 64 | _VARIANT | (rand & ((1 << 62) - 1))
        return str(uuid.UUID(int=value))

    def forget(self):
        """Forget the last id made: a forked child starts from fresh random bits, not its parent's count."""
        self._lock = threading.Lock()
        self._last = (0, 0)


_maker = IdMaker()
new_id = _maker.new_id
if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    # Counting on from the parent's last id, two children would make the same ids in one millisecond.
    os.register_at_fork(after_in_child=_maker.forget)
