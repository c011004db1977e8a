"""The node's background sync: every few seconds while the hub answers, backing off while it doesn't."""
import random
import time

import pytest

from sync.http_client import BackgroundSync, SyncFailed


class FlakyClient:
    """A stand-in sync client that fails a given number of times, then succeeds."""

    def __init__(self, failures):
        self.failures, self.calls = failures, 0

    def sync_once(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise SyncFailed("hub unreachable", "unreachable")


def test_delay_is_the_interval_while_the_hub_answers():
    bg = BackgroundSync(FlakyClient(0), interval_s=5, backoff_max_s=300)
    assert bg.next_delay() == 5


@pytest.mark.parametrize("failures, cap", [(1, 10), (2, 20), (3, 40), (6, 300), (30, 300)])
def test_delay_backs_off_exponentially_with_jitter_up_to_the_cap(failures, cap):
    bg = BackgroundSync(FlakyClient(0), interval_s=5, backoff_max_s=300, rng=random.Random(1))
    bg.failures = failures
    delays = [bg.next_delay() for _ in range(200)]
    assert all(5 <= d <= cap for d in delays)
    assert max(delays) - min(delays) > (cap - 5) / 3  # spread out: gates do not retry in lockstep


def test_background_sync_keeps_trying_and_recovers():
    client = FlakyClient(3)
    bg = BackgroundSync(client, interval_s=0.01, backoff_max_s=0.02).start()
    try:
        deadline = time.monotonic() + 5
        while client.calls < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        bg.stop()
    assert client.calls >= 5 and bg.failures == 0


def test_background_sync_carries_a_gate_event_to_the_hub_and_back(cluster):
    east, b20 = cluster.nodes["east-gate"], cluster.nodes["building-20"]
    syncers = [BackgroundSync(n.rt.sync_client(), interval_s=0.05, backoff_max_s=0.2).start() for n in (east, b20)]
    try:
        r = east.api("POST", "/rows/gate_events", json={"gate": "east-gate", "direction": "out",
                                                         "at": "2020-02-04T08:30:00", "decision": "allowed"})
        eid = r.get_json()["id"]
        deadline = time.monotonic() + 10
        while eid not in b20.table("gate_events") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for s in syncers:
            s.stop()
    assert eid in cluster.hub.table("gate_events") and eid in b20.table("gate_events")
