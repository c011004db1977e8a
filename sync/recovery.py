"""Recovering a node that lost changes the hub already has from it.

It happens when a node is restored from an old backup, or a new database is enrolled under an old
node id. Left alone, the node would number its next changes with sequence numbers the hub already
holds for other changes — and the hub would drop them as duplicates — while the changes it lost
would never come back, since a pull leaves out a node's own changes.

Detection: the hub knows the highest number it has from each node. It refuses a push whose numbers
it holds for different changes (SequenceReused, HTTP 409), and every push and pull answer carries
that number, so a node learns it has fallen behind itself even with nothing to send.
Recovery, on the node, in steps that survive being cut off (progress is kept in its database):
1. compare its unacknowledged changes with the hub's copies: the first that differs is where the
   histories part (D); none differs when only an acknowledgement was lost;
2. renumber its own changes after D past the hub's highest (H), so no number is ever reused;
3. fetch back from the hub its changes D+1..H and merge them — or, where the hub has compacted some
   away, take the compound in again as a snapshot (once: a resumed recovery resumes that snapshot);
4. move the renumbered changes to the end of its log, to be pushed next in order.
"""
import logging

from .changelog import next_cursor
from .replica import _change_json
from .snapshot import start_progress
from .sql_recovery import change_ids, move_to_log_end, origin_log_rows, shift_oseqs

log = logging.getLogger("menwei.sync")


class SequenceReused(Exception):
    """A node sent a sequence number the hub already holds for a different change."""

    def __init__(self, origin, seq, hub_seq):
        self.origin, self.seq, self.hub_seq = origin, seq, hub_seq
        super().__init__(f"{origin} reused sequence number {seq} for a different change (the hub has up to "
                         f"{hub_seq} from it): was it restored from an old backup? It must recover before pushing")


def refuse_reused(origin):
    """A check for Replica.apply_remote at the hub: refuse a push that reuses ``origin``'s numbers.

    Only a batch overlapping what the hub has is looked at: its overlapping changes are compared with
    the hub's copies. Compaction may have pruned some (gate events it never prunes); if it pruned all
    of them nothing proves the batch a resend, so it is refused too and the node's recovery, which
    copes with pruned numbers, decides. Accepting it unchecked would drop new changes as duplicates.
    """
    def check(tx, seen, changes):
        hub_seq = seen.get(origin, 0)
        if not changes or changes[0]["seq"] > hub_seq:
            return
        last = min(hub_seq, changes[-1]["seq"])
        stored = change_ids(tx, origin, changes[0]["seq"], last)
        for c in changes:
            if c["seq"] > last:
                break
            held = stored.get(c["seq"])
            if held is not None and held != (c["hlc"], c["table"], c["id"]):
                raise SequenceReused(origin, c["seq"], hub_seq)
        if not stored:
            raise SequenceReused(origin, last, hub_seq)
    return check


def own_page_json(replica, origin, after_oseq, cursor, limit):
    """Hub side: (JSON text of each change, cursor, more) of ``origin``'s changes numbered after ``after_oseq``."""
    with replica.store.read() as tx:
        # The end first, and no row past it (as a pull page): on PostgreSQL each statement sees a newer
        # snapshot, and a cursor moved to an end read after the rows would step over a change committed
        # between the two.
        high = tx.log_end()
        rows = origin_log_rows(tx, origin, after_oseq, cursor, limit, high)
    out = [_change_json(o, oseq, hlc, tbl, row_id, data, prev) for _s, o, oseq, hlc, tbl, row_id, data, prev in rows]
    return (out, *next_cursor([r[0] for r in rows], limit, high))


class Recovery:
    """The node's side: brings a node that fell behind itself back in line with the hub."""

    def __init__(self, client):
        self.client, self.replica = client, client.replica

    @property
    def pending(self):
        """The recovery under way (its saved progress), or None."""
        return self.replica.get_state("recovery")

    def run(self, hub_seq=None):
        """Recover if the hub has more of our changes than we know it has; resume one under way.

        Returns how many lost changes were fetched back.
        """
        state = self.pending
        if state is None:
            state = self._start(hub_seq or 0)
            if state is None:
                return 0
        return self._finish(state)

    def _pages(self, after_oseq, cursor=0):
        while True:
            page = self.client.own_changes(after_oseq, cursor)
            yield page["changes"]
            if not page["more"]:
                return
            cursor = page["cursor"]

    def _start(self, hub_seq):
        rep = self.replica
        pushed = rep.get_state("pushed_seq", 0)
        if hub_seq <= pushed:
            return None
        agreed = self._agreed(pushed, hub_seq)
        if agreed >= hub_seq:  # the same history: only the hub's acknowledgement was lost
            rep.set_states({"pushed_seq": hub_seq, "pushed_lseq": rep.log_position_of(hub_seq)})
            return None
        with rep.store.write() as tx:
            own = tx.seen_origins().get(rep.id, 0)
            shift = hub_seq - agreed
            shift_oseqs(tx, rep.id, agreed, shift)
            tx.save_seen({rep.id: own + shift})
            state = {"after": agreed, "upto": hub_seq, "cursor": 0, "renumbered": own - agreed}
            tx.set_state("recovery", state)
        log.warning("this node lacks its changes %d..%d that the hub has (restored from a backup?): fetching "
                    "them back; its %d later changes are renumbered from %d", agreed + 1, hub_seq,
                    own - agreed, hub_seq + 1)
        return state

    def _agreed(self, pushed, hub_seq):
        """The last of our numbers up to which the hub's history of us and ours agree.

        A number the hub no longer holds (compacted away) is stepped over: histories that part
        differ at every later number, so the next number both hold decides.
        """
        local = self._local_unacked(self.replica.get_state("pushed_lseq", 0))
        mine, agreed = next(local, None), pushed
        for page in self._pages(pushed):
            for theirs in page:
                while mine is not None and mine["seq"] < theirs["seq"]:
                    mine = next(local, None)
                if theirs["seq"] > hub_seq or mine is None or \
                        (mine["seq"], mine["hlc"], mine["table"], mine["id"]) != \
                        (theirs["seq"], theirs["hlc"], theirs["table"], theirs["id"]):
                    return agreed
                agreed = theirs["seq"]
                mine = next(local, None)
        return agreed

    def _local_unacked(self, after_lseq):
        while True:
            page = self.replica.outbox(after_lseq, 2000)
            for lseq, ch in page:
                yield ch
            if len(page) < 2000:
                return
            after_lseq = page[-1][0]

    def _finish(self, state):
        rep, fetched = self.replica, 0
        while not state.get("snapshot") and state["after"] < state["upto"]:
            page = self.client.own_changes(state["after"], state["cursor"])
            lost = [c for c in page["changes"] if c["seq"] <= state["upto"]]
            expected = list(range(state["after"] + 1, state["after"] + 1 + len(lost)))
            if [c["seq"] for c in lost] != expected or (not page["more"] and lost and lost[-1]["seq"] < state["upto"]) \
                    or (not lost and not page["more"]):
                # The hub compacted some of them away: its rows still hold what they did, so take the
                # compound in again as a snapshot (our renumbered changes stay queued) and be done.
                log.warning("the hub no longer holds every change %d..%d of ours (compacted): taking the "
                            "compound in again as a snapshot", state["after"] + 1, state["upto"])
                # Saved with the snapshot's own start, in one transaction: cut off anywhere after
                # this, the recovery resumes that snapshot (or finds it done), never takes a second.
                state = {**state, "snapshot": True}
                rep.set_states({"recovery": state, "bootstrap": rep.get_state("bootstrap")
                                or start_progress(rep, rep.get_state("pushed_lseq", 0))})
                break
            state = {**state, "after": lost[-1]["seq"] if lost else state["after"], "cursor": page["cursor"]}
            rep.apply_own_lost(lost, {"recovery": state})
            fetched += len(lost)
        if state.get("snapshot") and rep.get_state("bootstrap") is not None:
            self.client.bootstrap()
        with rep.store.write() as tx:
            end = move_to_log_end(tx, rep.id, state["upto"])
            for key, value in (("pushed_seq", state["upto"]), ("pushed_lseq", end), ("recovery", None)):
                tx.set_state(key, value)
        log.warning("recovered: %d changes fetched back; %d renumbered changes to push", fetched, state["renumbered"])
        return fetched
