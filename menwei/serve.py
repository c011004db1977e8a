"""Serving an app with waitress (pure Python: runs the same on a Windows gate laptop and on Linux)."""
import logging

from waitress import create_server


def make_server(app, host, port, threads=8):
    """Return a waitress server for ``app`` bound to host:port (call .run() to serve)."""
    logging.getLogger("waitress").setLevel(logging.WARNING)
    return create_server(app, host=host, port=port, threads=threads, ident="menwei",
                         max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
                         # keep sync batches (a few MB) in memory instead of spilling them to temp files
                         inbuf_overflow=64 * 1024 * 1024)
