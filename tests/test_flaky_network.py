"""A loopback proxy that drops, delays, truncates and resets connections between a node and the hub."""
import random
import socket
import threading
import time
import uuid

import pytest

from conftest import Cluster
from ledger import EVENT_ROWS, assert_exactly_once, tally_events
from sync.http_client import SyncFailed


class FlakyProxy:
    """Forwards TCP to the hub, ruining connections at random: drop, delay, truncate, reset."""

    MODES = ("ok", "ok", "ok", "ok", "drop", "delay", "truncate", "reset")

    def __init__(self, upstream_port, rng):
        self.upstream, self.rng = upstream_port, rng
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.faults = {m: 0 for m in set(self.MODES)}
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.open:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            mode = self.rng.choice(self.MODES)
            self.faults[mode] += 1
            threading.Thread(target=self._serve, args=(client, mode), daemon=True).start()

    def _serve(self, client, mode):
        try:
            self._forward(client, mode)
        except OSError:  # the hub went away under us (the test is closing): just drop the client
            client.close()

    def _forward(self, client, mode):
        if mode == "drop":
            client.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream))
        if mode == "delay":
            time.sleep(self.rng.uniform(0.05, 0.3))
        threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
        limit = self.rng.randrange(1, 400) if mode == "truncate" else None
        if mode == "reset":
            limit = 0
        self._pump(upstream, client, limit, reset=(mode == "reset"))

    @staticmethod
    def _pump(src, dst, limit, reset=False):
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[:max(limit - sent, 0)])
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            if reset:  # RST instead of FIN: the client sees "connection reset by peer"
                try:
                    dst.shutdown(socket.SHUT_RD)  # wake the other pump without sending a FIN
                except OSError:
                    pass
                try:
                    dst.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                except OSError:
                    pass
            for s in (src, dst):
                try:
                    if not (reset and s is dst):
                        s.shutdown(socket.SHUT_RDWR)  # wakes the pump reading the other way, sends FIN now
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass

    def close(self):
        """Stop accepting."""
        self.open = False
        self.sock.close()


def _run(tmp_path, rounds):
    """Write and sync through the proxy for ``rounds`` rounds, heal, and compare every replica with the
    client's own record: the events each node was asked to write (by client key) and the hub edits answered."""
    rng = random.Random(8)
    c = Cluster(tmp_path, node_ids=("east-gate", "building-20"), start_ms=None)
    proxy = FlakyProxy(c.server.server.server_port, rng)
    try:
        for node in c.nodes.values():
            node.rt.store.engine.dispose()
            with node.rt.store.write() as tx:
                tx.set_state("hub_url", f"http://127.0.0.1:{proxy.port}")
            node.rt._client = None
        failures = 0
        written, addresses = {}, []  # client key -> event id; (address, hlc) of each hub edit answered 200
        for r in range(rounds):
            node = c.nodes[rng.choice(sorted(c.nodes))]
            batch = {f"{node.replica.id}-{r}-{i}": str(uuid.uuid4()) for i in range(rng.randrange(1, 30))}
            node.replica.write([("gate_events", eid, {
                "compound_id": c.compound_id, "gate": node.replica.id, "direction": "in", "decision": "allowed",
                "at": "2020-02-04T09:00:00Z", "operator": key}) for key, eid in batch.items()], create=True)
            written.update(batch)
            if rng.random() < 0.3:
                address = f"地址{r}-{rng.random()}"
                got = c.hub.api("PATCH", f"/rows/compounds/{c.compound_id}", json={"address": address})
                assert got.status_code == 200, got.get_json()
                addresses.append((address, got.get_json()["hlc"]))
            try:
                node.rt.sync_client().sync_once()
            except SyncFailed:
                failures += 1
        proxy.close()
        for node in c.nodes.values():  # the network heals
            with node.rt.store.write() as tx:
                tx.set_state("hub_url", c.server.url)
            node.rt._client = None
        c.sync_all(rounds=2)
        tallies = {}
        want_address = max(addresses, key=lambda a: a[1])[0] if addresses else None
        for rep in [c.hub, *c.nodes.values()]:
            with rep.rt.store.read() as tx:
                rows = tx.rows(EVENT_ROWS)
                address = tx.rows("SELECT address FROM compounds WHERE id = ?", (c.compound_id,))[0][0]
            tallies[rep.replica.id] = tally_events(written, rows)
            assert_exactly_once(written, rows, rep.replica.id)
            assert address == want_address, f"{rep.replica.id} holds {address!r}, the hub answered {want_address!r} last"
        for node in c.nodes.values():
            assert node.rt.sync_client().pending() == 0
        return {"failures": failures, "faults": proxy.faults, "events_written": len(written),
                "hub_edits_answered": len(addresses),
                "lost": max(t["lost"] for t in tallies.values()),
                "duplicated": max(t["duplicated"] for t in tallies.values())}
    finally:
        c.close()


def test_sync_through_a_flaky_network_keeps_every_write_once_on_every_replica(tmp_path):
    figures = _run(tmp_path, 40)
    f = figures["faults"]
    assert figures["failures"] > 0 and f["truncate"] + f["reset"] + f["drop"] > 0  # the faults really bit
    assert figures["events_written"] > 0 and figures["hub_edits_answered"] > 0


@pytest.mark.slow
def test_two_hundred_sync_rounds_through_a_flaky_network(tmp_path, capsys):
    figures = _run(tmp_path, 200)
    with capsys.disabled():
        print(f"\nflaky network: 200 rounds, {figures['failures']} failed syncs, faults injected "
              f"{figures['faults']}, {figures['events_written']} gate events written, "
              f"{figures['hub_edits_answered']} hub edits answered, lost {figures['lost']}, "
              f"duplicated {figures['duplicated']} (on the worst replica)")
