"""Hybrid logical clock: physical milliseconds and a counter packed into one sortable integer."""
import threading
import time

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1


def wall_ms():
    """Return the machine's wall clock in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def pack(ms, counter=0):
    """Pack physical milliseconds and a counter into one stamp."""
    return (ms << COUNTER_BITS) | counter


def physical_ms(stamp):
    """Return the physical-milliseconds part of a stamp."""
    return stamp >> COUNTER_BITS


class ClockSkewError(Exception):
    """A stamp lies further in the future than the replica accepts."""

    def __init__(self, stamp, ahead_ms, bound_ms):
        self.stamp, self.ahead_ms, self.bound_ms = stamp, ahead_ms, bound_ms
        super().__init__(
            f"change stamped {ahead_ms / 1000:.0f} s ahead of this clock "
            f"(bound {bound_ms / 1000:.0f} s): the sender's clock is wrong; fix it and sync again"
        )


class HybridClock:
    """A replica's hybrid logical clock (HLC).

    A stamp is ``max(last + 1, wall << 16)``: it follows the wall clock when that moves forward and
    counts on from the last stamp when the wall clock stalls or goes back, so stamps stay strictly
    increasing even across a clock jump. When the counter overflows it carries into the
    milliseconds, which only nudges the clock ahead by one millisecond per 65,536 events.
    """

    def __init__(self, wall=wall_ms, last=0):
        self._wall = wall
        self._last = last
        self._lock = threading.Lock()

    @property
    def last(self):
        """The last stamp issued or observed."""
        return self._last

    def wall(self):
        """Read the underlying wall clock in milliseconds."""
        return self._wall()

    def now(self):
        """Issue a new stamp for a local event."""
        return self.reserve(1)

    def reserve(self, n):
        """Issue ``n`` consecutive stamps for local events and return the first."""
        with self._lock:
            first = max(self._last + 1, pack(self._wall()))
            self._last = first + n - 1
            return first

    def observe(self, stamp):
        """Advance past a stamp received from another replica."""
        with self._lock:
            if stamp > self._last:
                self._last = stamp

    def ahead_ms(self, stamp):
        """How many milliseconds a stamp lies ahead of this replica's wall clock (negative: behind)."""
        return physical_ms(stamp) - self._wall()

    def check_not_far_future(self, stamp, bound_ms):
        """Raise ClockSkewError if ``stamp`` lies more than ``bound_ms`` ahead of the wall clock."""
        ahead = self.ahead_ms(stamp)
        if ahead > bound_ms:
            raise ClockSkewError(stamp, ahead, bound_ms)


class ManualClock:
    """A settable wall clock for tests and simulations (milliseconds)."""

    def __init__(self, ms=None):
        self.ms = wall_ms() if ms is None else ms

    def __call__(self):
        return self.ms

    def advance(self, ms):
        """Move the clock forward by ``ms`` milliseconds."""
        self.ms += ms


class OffsetClock:
    """A wall clock reading a base clock plus an offset: a gate laptop whose clock is wrong, or jumps.

    ``offset_ms`` may be changed at any time (``jump``), as when someone sets the laptop's clock by hand.
    """

    def __init__(self, base=wall_ms, offset_ms=0):
        self.base, self.offset_ms = base, offset_ms

    def __call__(self):
        return self.base() + self.offset_ms

    def jump(self, ms):
        """Move this clock by ``ms`` milliseconds (negative: back), leaving the base clock alone."""
        self.offset_ms += ms
