"""Times as Menwei stores and shows them: UTC ISO strings in the database, local time on screen. Pure."""
import datetime as dt
from zoneinfo import ZoneInfo


def iso(ms):
    """Render milliseconds since the epoch as the UTC ISO string stored in events and rules."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse(ts):
    """Parse a stored ISO time (with Z or an offset; naive means UTC)."""
    t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def local_text(at, tz, fmt="%m-%d %H:%M"):
    """A stored time shown in the compound's time zone."""
    return parse(at).astimezone(ZoneInfo(tz)).strftime(fmt) if at else ""


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local_moment(at, tz):
    """A stored time as people say it, in Chinese and in English: ("2月6日 08:00", "Feb 6 08:00")."""
    t = parse(at).astimezone(ZoneInfo(tz))
    return f"{t.month}月{t.day}日 {t:%H:%M}", f"{_MONTHS_EN[t.month - 1]} {t.day} {t:%H:%M}"
