"""The period a page or API call asks for: ``from`` and ``to`` as a local date, an ISO time or epoch ms."""
import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, request

from menwei.web.errors import ApiError
from menwei.runtime import runtime

DEFAULT_DAYS = 7
#: The ``from``/``to`` query parameters, as the OpenAPI document describes them.
PERIOD_QUERY = {k: {"type": "string", "description": "a local date (2020-02-14), an ISO time or epoch milliseconds"}
                for k in ("from", "to")}


def period(default_days=DEFAULT_DAYS):
    """(since_ms, until_ms, now_ms) asked for by ``from``/``to``; by default the last ``default_days`` days."""
    now = runtime().wall()
    since, until = bounds()
    until = now if until is None else until
    since = until - default_days * 86_400_000 if since is None else since
    if since > until:
        raise ApiError(400, "from must not be after to", fields={"from": "after to"})
    return since, until, now


def bounds():
    """(since_ms or None, until_ms or None) as given in the request, without defaults."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    return (_instant(request.args.get("from"), "from", tz, end=False),
            _instant(request.args.get("to"), "to", tz, end=True))


def _instant(text, field, tz, end):
    if text is None or text == "":
        return None
    text = text.strip()
    try:
        if text.isdigit() and len(text) > 8:
            ms = int(text)
        elif len(text) == 10:  # a local calendar day: from its first to its last millisecond
            day = dt.date.fromisoformat(text)
            start = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(), tz)
            ms = int(start.timestamp() * 1000) - (1 if end else 0)
        else:
            t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            ms = int((t if t.tzinfo else t.replace(tzinfo=tz)).timestamp() * 1000)
    except (ValueError, OverflowError):
        raise ApiError(400, f"{field} must be a date (2020-02-14), an ISO time or epoch milliseconds",
                       fields={field: "not a date or time"}) from None
    if not 0 <= ms < 253402300800000:  # before year 10000
        raise ApiError(400, f"{field} is out of range", fields={field: "out of range"})
    return ms
