"""Failed attempts (sign-ins, enrolment codes) limited per key with a growing back-off.

A key is a username, an address or an enrolment source. Once a key has ``limit`` failures within the
last hour, each further attempt waits BASE_S seconds after the last failure, doubling with every failure
since, up to MAX_WAIT_S: a typo costs nothing, a guesser gets a few tries an hour. Kept in the local
``login_failures`` table (never replicated), with the pairs (address, name) that signed in successfully,
so that a noisy address does not lock out the people who work there.
"""
import math

WINDOW_S = 3600
BASE_S = 30
MAX_WAIT_S = 15 * 60
KNOWN_DAYS = 30


def wait_s(tx, key, limit, now_ms):
    """Seconds still to wait before another attempt for ``key`` (0: go ahead)."""
    n, last = tx.rows("SELECT COUNT(*), MAX(at) FROM login_failures WHERE key = ? AND at > ?",
                      (key, now_ms - WINDOW_S * 1000))[0]
    if n < limit or last is None:
        return 0
    wait = min(BASE_S * 2 ** min(n - limit, 16), MAX_WAIT_S)
    return max(0, math.ceil((last + wait * 1000 - now_ms) / 1000))


def record_failure(tx, keys, now_ms):
    """Count one failed attempt against each of ``keys``, and forget failures older than the window."""
    for key in keys:
        tx.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", (key, now_ms))
    # the pattern as a parameter: a literal % would be a placeholder to PostgreSQL's driver
    tx.execute("DELETE FROM login_failures WHERE at < ? AND key NOT LIKE ?", (now_ms - WINDOW_S * 1000, "ok:%"))
    tx.execute("DELETE FROM login_failures WHERE at < ?", (now_ms - KNOWN_DAYS * 86_400_000,))


def forget(tx, key):
    """Clear the failures counted against ``key`` (a successful sign-in)."""
    tx.execute("DELETE FROM login_failures WHERE key = ?", (key,))


def record_known(tx, key, now_ms):
    """Remember a success for ``key`` (an address and a name), for KNOWN_DAYS."""
    tx.execute("DELETE FROM login_failures WHERE key = ?", (key,))
    tx.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", (key, now_ms))


def known(tx, key, now_ms):
    """Whether ``key`` succeeded within KNOWN_DAYS."""
    return bool(tx.rows("SELECT 1 FROM login_failures WHERE key = ? AND at > ?",
                        (key, now_ms - KNOWN_DAYS * 86_400_000)))


def wait_message(seconds):
    """A person's words for how long to wait."""
    if seconds < 90:
        return f"尝试次数过多，请 {seconds} 秒后再试 — too many failed attempts; try again in {seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return f"尝试次数过多，请 {minutes} 分钟后再试 — too many failed attempts; try again in {minutes} minutes"
