"""The gate's control rules, judged without I/O: which rules are in force, and may this crossing pass.

Everything here is a pure function of its arguments (times are UTC ISO strings as stored), so the
same rules give the same answer at every gate, online or not.
"""
import datetime as dt
from dataclasses import dataclass, field

DEFAULTS = {"level": "open", "outing_quota": 1, "outing_days": 2, "vehicle_policy": "free",
            "fever_threshold": 37.3, "work_pass_needs_certificate": True}
RULE_FIELDS = tuple(DEFAULTS)


def iso(ms):
    """Render milliseconds since the epoch as the UTC ISO string stored in events and rules."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse(ts):
    """Parse a stored ISO time (with Z or an offset; naive means UTC)."""
    t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def rules_in_force(rows, building_id, at):
    """Merge rule rows into the rules in force at ``at`` for a building: defaults < compound < building."""
    when = parse(at)
    out = dict(DEFAULTS)
    for scope in [None] + ([building_id] if building_id else []):
        candidates = [r for r in rows if r.get("building_id") == scope and parse(r["effective_from"]) <= when]
        if candidates:
            latest = max(candidates, key=lambda r: parse(r["effective_from"]))
            out.update({k: latest[k] for k in RULE_FIELDS if latest.get(k) is not None})
    return out


@dataclass
class Crossing:
    """What the gate knows about one crossing, gathered before judging it."""

    direction: str
    at: str
    temperature: float | None
    rules: dict
    resident: dict | None = None
    household: dict | None = None
    vehicle: dict | None = None
    pass_: dict | None = None
    code_given: str | None = None
    code_known: bool = True
    id_checked: bool = False
    visitor: dict | None = None
    outings: list = field(default_factory=list)  # times of this household's counted outings, oldest first


@dataclass
class Verdict:
    """Allowed or denied, with every reason, and what the crossing counts as."""

    allowed: bool
    reasons: list
    purpose: str
    fever: bool = False
    next_outing_at: str | None = None


def _reason(code, message, **extra):
    return {"code": code, "message": message, **extra}


def judge(c):
    """Decide a crossing: collect every reason to deny, so the volunteer can explain all of them."""
    reasons, rules = [], c.rules
    fever = c.temperature is not None and c.temperature >= rules["fever_threshold"]
    if fever:
        reasons.append(_reason("fever", f"体温 {c.temperature:.1f}°C ≥ {rules['fever_threshold']:.1f}°C",
                               temperature=c.temperature))
    if c.code_given and not c.code_known:
        reasons.append(_reason("unknown_code", f"无此通行证 unknown pass code {c.code_given}"))
        return Verdict(False, reasons, "other", fever)
    p = c.pass_
    purpose = _purpose(c)
    if p is not None:
        if p.get("revoked"):
            reasons.append(_reason("pass_revoked", "通行证已作废 pass revoked" +
                                   (f": {p['revoked_reason']}" if p.get("revoked_reason") else "")))
        if p.get("valid_until") and parse(p["valid_until"]) < parse(c.at):
            reasons.append(_reason("pass_expired", f"通行证已过期 pass expired {p['valid_until']}",
                                   valid_until=p["valid_until"]))
        if p.get("valid_from") and parse(p["valid_from"]) > parse(c.at):
            reasons.append(_reason("pass_not_yet_valid", f"通行证未生效 pass valid from {p['valid_from']}"))
        if p["kind"] == "work":
            if rules["work_pass_needs_certificate"] and not p.get("certificate_checked_by"):
                reasons.append(_reason("certificate_missing", "缺单位证明 no employer certificate checked"))
            if not c.id_checked:
                reasons.append(_reason("id_not_checked", "须核对身份证 holder's ID not checked"))
    if c.vehicle is not None or purpose == "vehicle":
        policy = rules["vehicle_policy"]
        if policy == "banned":
            reasons.append(_reason("vehicle_banned", "禁止车辆进出 no vehicle may cross"))
        elif policy == "exit_only" and c.direction == "in":
            reasons.append(_reason("vehicle_exit_only", "车辆只出不进 vehicles may leave, not enter"))
    if rules["level"] == "quarantine" and (c.household is not None):
        reasons.append(_reason("quarantined_building", "本楼栋全封闭隔离 building under quarantine"))
    if c.household is None and c.resident is None and p is None and c.vehicle is None:
        if rules["level"] in ("closed", "quarantine") or not c.visitor:
            reasons.append(_reason("unknown_person", "非本小区登记人员 not a registered resident or pass"))
    next_at = None
    if purpose == "outing" and c.direction == "out":
        counted, left, next_at, recent = outing_quota(rules, c.outings, c.at)
        if counted and left == 0:
            reasons.append(_reason(
                "quota_used", f"本户 {rules['outing_days']} 天内已外出 {len(recent)} 次 household outing quota used",
                last_outing_at=recent[-1] if recent else None, next_outing_at=next_at))
    return Verdict(not reasons, reasons, purpose, fever, next_at)


def outing_quota(rules, outings, at):
    """(quota applies?, outings left, when the next is allowed if none, outings in the window) at ``at``."""
    if rules["level"] not in ("semi_closed", "closed"):
        return False, None, None, []
    window = dt.timedelta(days=rules["outing_days"])
    now = parse(at)
    recent = [t for t in outings if now - parse(t) < window]
    quota = rules["outing_quota"]
    left = max(quota - len(recent), 0)
    next_at = iso((parse(recent[-quota]) + window).timestamp() * 1000) if left == 0 and quota else None
    return True, left, next_at, recent


def _purpose(c):
    if c.pass_ is not None:
        return {"outing": "outing", "work": "work", "vehicle": "vehicle", "visitor": "visitor"}[c.pass_["kind"]]
    if c.vehicle is not None:
        return "vehicle"
    if c.household is None and c.resident is None:
        return "visitor"
    return "outing" if c.direction == "out" else "return"
