"""The gate's control rules, judged without I/O: which rules are in force, and may this crossing pass.

Everything here is a pure function of its arguments (times are UTC ISO strings as stored), so the
same rules give the same answer at every gate, online or not.
"""
import datetime as dt
from dataclasses import dataclass, field

from menwei.times import iso, local_moment, parse

DEFAULTS = {"level": "open", "outing_quota": 1, "outing_days": 2, "vehicle_policy": "free",
            "fever_threshold": 37.3, "work_pass_needs_certificate": True}
RULE_FIELDS = tuple(DEFAULTS)

#: Every reason a crossing may be denied, with its Chinese and English label: the gate's messages, the
#: dashboard's denial chart and the daily report all read them from here.
REASONS = {
    "fever": ("发热", "fever"),
    "quota_used": ("外出次数已用", "outing quota used"),
    "unknown_person": ("非本小区登记人员", "not a registered resident or pass"),
    "unknown_code": ("无此通行证", "unknown pass code"),
    "pass_revoked": ("通行证已作废", "pass revoked"),
    "pass_expired": ("通行证已过期", "pass expired"),
    "pass_not_yet_valid": ("通行证未生效", "pass not yet valid"),
    "certificate_missing": ("缺单位证明", "no employer certificate checked"),
    "id_not_checked": ("须核对身份证", "holder's ID not checked"),
    "id_mismatch": ("身份证与持证人不符", "ID card is not the holder's"),
    "vehicle_banned": ("禁止车辆进出", "no vehicle may cross"),
    "vehicle_exit_only": ("车辆只出不进", "vehicles may leave, not enter"),
    "quarantined_building": ("本楼栋全封闭隔离", "building under quarantine"),
    "operator": ("值班员拒绝", "refused by the volunteer on duty"),
}

#: What makes a gate event one of a household's counted outings (the quota counts these and nothing else).
COUNTED_OUTING = {"direction": "out", "decision": "allowed", "purpose": "outing"}
#: The same rule as a SQL condition on gate_events, for the queries that count outings.
COUNTED_OUTING_SQL = " AND ".join(f"{column} = '{value}'" for column, value in COUNTED_OUTING.items())


def is_counted_outing(event):
    """True when a gate event (a dict of its fields) counts against its household's outing quota."""
    return all(event.get(column) == value for column, value in COUNTED_OUTING.items())


def reason_label(code):
    """A denial reason as people read it, "中文 English"; an unknown code is shown as it is."""
    zh, en = REASONS.get(code, (code, ""))
    return f"{zh} {en}".strip()


def rules_in_force(rows, building_id, at):
    """The complete rules in force at ``at`` for a building, built field by field.

    A rule row states only what it changes: its empty fields inherit. Compound rows apply first, then
    the building's, each in order of ``effective_from`` (ties by id), so a later row overrides only the
    fields it sets, and a building row overrides the compound's for those fields.
    """
    return rule_sources(rows, building_id, at)[0]


def rule_sources(rows, building_id, at):
    """(rules in force, {field: the row that set it, or None for the default}) at ``at`` for a building."""
    when = parse(at)
    rules, sources = dict(DEFAULTS), dict.fromkeys(RULE_FIELDS)
    for scope in [None] + ([building_id] if building_id else []):
        effective = [r for r in rows if r.get("building_id") == scope and parse(r["effective_from"]) <= when]
        for r in sorted(effective, key=lambda r: (parse(r["effective_from"]), r.get("id") or "")):
            for k in RULE_FIELDS:
                if r.get(k) is not None:
                    rules[k], sources[k] = r[k], r
    return rules, sources


def rule_changes(rows, new_row, building_id=None):
    """What publishing ``new_row`` changes, from its ``effective_from``: {field: (in force before, after)}.

    ``building_id`` is the building to look at (default: the row's own scope); a compound row that a
    building's own rows override changes nothing there.
    """
    scope = building_id if building_id is not None else new_row.get("building_id")
    at = new_row["effective_from"]
    before = rules_in_force(rows, scope, at)
    after = rules_in_force(list(rows) + [new_row], scope, at)
    return {k: (before[k], after[k]) for k in RULE_FIELDS if before[k] != after[k]}


def pass_problems(p, at, revoked_at=None):
    """Why pass ``p`` may not be used at ``at``: [(reason code, details)], empty when it is valid.

    ``revoked_at`` is when the revocation was made, where known (the hub reads it from the field's
    stamp): a pass used before it was revoked was used rightly. Without it a revoked pass is refused.
    """
    problems, when = [], parse(at)
    if p.get("revoked") and (revoked_at is None or parse(revoked_at) <= when):
        problems.append(("pass_revoked", {"revoked_reason": p.get("revoked_reason"), "revoked_at": revoked_at}))
    if p.get("valid_until") and parse(p["valid_until"]) < when:
        problems.append(("pass_expired", {"valid_until": p["valid_until"]}))
    if p.get("valid_from") and parse(p["valid_from"]) > when:
        problems.append(("pass_not_yet_valid", {"valid_from": p["valid_from"]}))
    return problems


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
    id_mismatch: bool = False  # an ID card was presented and belongs to someone else
    visitor: dict | None = None
    outings: list = field(default_factory=list)  # times of this household's counted outings, oldest first
    tz: str = "Asia/Shanghai"  # the compound's zone: the times a message names are local


@dataclass
class Verdict:
    """Allowed or denied, with every reason, and what the crossing counts as."""

    allowed: bool
    reasons: list
    purpose: str
    fever: bool = False
    next_outing_at: str | None = None


def _reason(code, detail_zh="", detail_en="", **extra):
    """A reason as the verdict carries it: its code, the words a volunteer reads, and its facts."""
    zh, en = REASONS[code]
    message = f"{zh}{(' ' + detail_zh) if detail_zh else ''} · {en}{(' ' + detail_en) if detail_en else ''}"
    return {"code": code, "message": message, **extra}


def judge(c):
    """Decide a crossing: collect every reason to deny, so the volunteer can explain all of them."""
    reasons, rules = [], c.rules
    fever = c.temperature is not None and c.temperature >= rules["fever_threshold"]
    if fever:
        limit = f"{c.temperature:.1f}°C ≥ {rules['fever_threshold']:.1f}°C"
        reasons.append(_reason("fever", limit, limit, temperature=c.temperature))
    if c.code_given and not c.code_known:
        reasons.append(_reason("unknown_code", c.code_given, c.code_given))
        return Verdict(False, reasons, "other", fever)
    p = c.pass_
    purpose = _purpose(c)
    if c.id_mismatch:
        reasons.append(_reason("id_mismatch"))
    if p is not None:
        for code, facts in pass_problems(p, c.at):
            reasons.append(_pass_reason(code, facts, c.tz))
        if p["kind"] == "work":
            if rules["work_pass_needs_certificate"] and not p.get("certificate_checked_by"):
                reasons.append(_reason("certificate_missing"))
            if not c.id_checked and not c.id_mismatch:
                reasons.append(_reason("id_not_checked"))
    if c.vehicle is not None or purpose == "vehicle":
        policy = rules["vehicle_policy"]
        if policy == "banned":
            reasons.append(_reason("vehicle_banned"))
        elif policy == "exit_only" and c.direction == "in":
            reasons.append(_reason("vehicle_exit_only"))
    if rules["level"] == "quarantine" and (c.household is not None):
        reasons.append(_reason("quarantined_building"))
    if c.household is None and c.resident is None and p is None and c.vehicle is None:
        if rules["level"] in ("closed", "quarantine") or not c.visitor:
            reasons.append(_reason("unknown_person"))
    next_at = None
    if purpose == "outing" and c.direction == "out":
        counted, left, next_at, recent = outing_quota(rules, c.outings, c.at)
        if counted and left == 0:
            reasons.append(_quota_reason(rules, recent, next_at, c.tz))
    return Verdict(not reasons, reasons, purpose, fever, next_at)


def _pass_reason(code, facts, tz):
    if code == "pass_revoked":
        why = facts.get("revoked_reason") or ""
        return _reason(code, why, why)
    when = facts.get("valid_until") or facts.get("valid_from")
    zh, en = local_moment(when, tz)
    if code == "pass_expired":
        return _reason(code, f"（{zh} 到期）", f"(until {en})", valid_until=when)
    return _reason(code, f"（{zh} 起有效）", f"(valid from {en})", valid_from=when)


def _quota_reason(rules, recent, next_at, tz):
    """The quota denial, naming when the household may go out again in local time."""
    zh = f"本户 {rules['outing_days']} 天内已外出 {len(recent)} 次"
    en = f"{len(recent)} in {rules['outing_days']} days"
    if next_at:
        next_zh, next_en = local_moment(next_at, tz)
        zh, en = f"{zh}，下次可外出 {next_zh}", f"{en}; may go out again {next_en}"
    return _reason("quota_used", zh, en, last_outing_at=recent[-1] if recent else None, next_outing_at=next_at)


def outing_quota(rules, outings, at):
    """(quota applies?, outings left, when the next is allowed if none, counted outings in the window) at ``at``.

    ``outings`` are the times of the household's counted outings (``is_counted_outing``) before ``at``.
    """
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
