"""Secrets at rest: Menwei's data directories are 0700 and its databases, backups and token files 0600.

A node's database holds its hub token and the key that signs its sessions, and every database holds
residents' ID-card numbers: on a shared laptop no other login may read them. (Windows keeps its own ACLs:
chmod there only sets a read-only flag, so nothing is changed.)
"""
import glob
import os

DIR_MODE = 0o700
FILE_MODE = 0o600
#: The umask the `menwei` command runs with, so whatever it creates is private from the start.
UMASK = 0o077


def _posix():
    return os.name == "posix"


def private_dir(path):
    """Make the directory ``path`` (and its parents) if needed, and only its owner's."""
    os.makedirs(path, exist_ok=True)
    if _posix():
        os.chmod(path, DIR_MODE)


def private_file(path):
    """Make the existing file ``path`` readable and writable by its owner only."""
    if _posix() and os.path.exists(path):
        os.chmod(path, FILE_MODE)


def write_private(path, text):
    """Write ``text`` to a new file at ``path`` that only its owner may read (a token)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    private_file(path)  # O_CREAT's mode does not apply to a file that already existed


def secure_database(db_path):
    """Tighten an SQLite database, its WAL and shared-memory files, its backups and its directory."""
    private_dir(os.path.dirname(os.path.abspath(db_path)))
    for path in [db_path, *glob.glob(glob.escape(db_path) + "-*"), *glob.glob(glob.escape(db_path) + ".*.bak")]:
        private_file(path)
