"""Serving an app: waitress (pure Python: runs the same on a Windows gate laptop and on Linux), or
gunicorn with several worker processes for a hub on PostgreSQL (POSIX only)."""
import ctypes
import ctypes.util
import logging
import os
import shlex
import sys

from waitress import create_server

M_ARENA_MAX = -8


def limit_malloc_arenas(n=2):
    """Cap glibc's per-thread malloc arenas: a threaded server otherwise holds tens of MB it never reuses.

    Matters on a gate laptop (the node should stay under ~80 MB); a no-op off glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, n))
    except (OSError, AttributeError):
        return False


def make_server(app, host, port, threads=8):
    """Return a waitress server for ``app`` bound to host:port (call .run() to serve)."""
    logging.getLogger("waitress").setLevel(logging.WARNING)
    return create_server(app, host=host, port=port, threads=threads, ident="menwei",
                         max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
                         # keep sync batches (a few MB) in memory instead of spilling them to temp files
                         inbuf_overflow=64 * 1024 * 1024)


def run_gunicorn(factory, host, port, workers, threads=4, timeout_s=120, data_dir=None):
    """Serve the app ``factory()`` makes in each of ``workers`` gunicorn processes (POSIX only); blocks.

    Each worker builds its own app after the fork, so none shares a database connection with another;
    gthread workers let a long push in one thread leave the others answering. Any other gunicorn
    setting can be given as with gunicorn itself, in GUNICORN_CMD_ARGS (an access log, say).
    """
    from gunicorn.app.base import BaseApplication

    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
               # a 20,000-change push may take a while on a small server; nodes retry anyway
               "timeout": timeout_s, "graceful_timeout": 30, "accesslog": None, "errorlog": "-",
               "loglevel": "warning", "proc_name": "menwei-hub"}

    class Hub(BaseApplication):
        def load_config(self):
            if data_dir and "control_socket" in self.cfg.settings:
                # gunicorn ≥ 25 opens a control socket, by default one per user: two hubs would collide.
                options["control_socket"] = os.path.join(os.path.abspath(data_dir), "gunicorn.ctl")
            for key, value in options.items():
                self.cfg.set(key, value)
            extra = os.environ.get("GUNICORN_CMD_ARGS")
            if extra:
                parsed = self.cfg.parser().parse_args(shlex.split(extra))
                for key, value in vars(parsed).items():
                    if value is not None and key in self.cfg.settings:
                        self.cfg.set(key.lower(), value)

        def load(self):
            return factory()

    Hub().run()
