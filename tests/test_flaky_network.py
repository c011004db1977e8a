"""A loopback proxy that drops, delays, truncates and resets connections between a node and the hub."""
import random
import socket
import threading
import time
import uuid

import pytest

from conftest import Cluster
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
        for _ in range(rounds):
            node = c.nodes[rng.choice(sorted(c.nodes))]
            node.replica.write([("gate_events", str(uuid.uuid4()), {
                "compound_id": c.compound_id, "gate": node.replica.id, "direction": "in", "decision": "allowed",
                "at": "2020-02-04T09:00:00Z"}) for _ in range(rng.randrange(1, 30))], create=True)
            if rng.random() < 0.3:
                c.hub.api("PATCH", f"/rows/compounds/{c.compound_id}", json={"address": f"地址{rng.random()}"})
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
        written = {nid: n.table("gate_events") for nid, n in c.nodes.items()}
        hub_events = c.hub.table("gate_events")
        for nid, node in c.nodes.items():
            assert node.table("gate_events") == hub_events
            assert node.rt.sync_client().pending() == 0
        with c.hub.rt.store.read() as tx:
            assert tx.rows("SELECT COUNT(*), COUNT(DISTINCT id) FROM gate_events")[0] == (len(hub_events),) * 2
        assert c.hub.table("compounds") == c.nodes["east-gate"].table("compounds")
        return failures, proxy.faults, len(hub_events), written
    finally:
        c.close()


def test_sync_through_a_flaky_network_converges_and_loses_nothing(tmp_path):
    failures, faults, events, _ = _run(tmp_path, 40)
    assert failures > 0 and faults["truncate"] + faults["reset"] + faults["drop"] > 0
    assert events > 0


@pytest.mark.slow
def test_two_hundred_sync_rounds_through_a_flaky_network(tmp_path, capsys):
    failures, faults, events, _ = _run(tmp_path, 200)
    with capsys.disabled():
        print(f"\nflaky network: 200 rounds, {failures} failed syncs, faults injected {faults}, "
              f"{events} gate events converged, lost 0, duplicated 0")
