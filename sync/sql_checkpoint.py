"""Copy an SQLite WAL back into its database from a thread of its own, so commits do not wait for it.

SQLite's automatic checkpoint runs inside whichever commit pushes the WAL past its threshold: that
request then also copies every page back and, with synchronous=FULL, waits for the database file's
fsync. A sync batch of 10,000 changes crosses the default threshold on every commit, which cost the
hub about a tenth of its push time. The replica store tells this checkpointer how many rows each
write transaction stored; past a threshold (or once writes go quiet) a background thread runs a
PASSIVE checkpoint, which never blocks readers or the next writer. SQLite's own automatic checkpoint
stays on at a higher threshold as the backstop.
"""
import logging
import threading

log = logging.getLogger(__name__)


class WalCheckpointer:
    """Run ``PRAGMA wal_checkpoint(PASSIVE)`` on an SQLite engine after enough rows were written."""

    def __init__(self, engine, rows=1000, idle_s=5.0):
        self.engine, self.rows, self.idle_s = engine, rows, idle_s
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending = 0
        self._thread = None
        self.runs = 0  # checkpoints done, for tests and the curious

    def wrote(self, rows):
        """Note that a committed transaction stored ``rows`` rows; checkpoint soon if enough piled up."""
        if rows <= 0:
            return
        with self._lock:
            self._pending += rows
            if self._thread is None:
                # Started on demand and gone once writes stop: an idle replica (or a test's) keeps no thread.
                self._thread = threading.Thread(target=self._run, name="menwei-checkpoint", daemon=True)
                self._thread.start()
            if self._pending >= self.rows:
                self._wake.set()

    def _run(self):
        while True:
            self._wake.wait(self.idle_s)
            with self._lock:
                self._wake.clear()
                pending, self._pending = self._pending, 0
                if not pending:
                    self._thread = None  # quiet for idle_s with nothing written: stop until the next write
                    return
            self.checkpoint()  # woken by a pile of rows, or writes went quiet with some not yet copied

    def checkpoint(self):
        """Copy what the WAL holds back into the database now, without waiting for readers or writers."""
        try:
            raw = self.engine.raw_connection()
            try:
                # The raw connection is in autocommit (configure_sqlite): no BEGIN wraps the pragma.
                raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                raw.close()
            self.runs += 1
        except Exception as e:  # a checkpoint left undone is made by the next one or SQLite's backstop
            log.warning("background WAL checkpoint failed: %s", e)
