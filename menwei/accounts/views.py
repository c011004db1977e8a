"""Accounts: sign-in and sign-out (page and API), rate-limited logins, and the coordinator's account API."""
import functools

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from marshmallow import RAISE, Schema, fields, validate
from werkzeug.security import check_password_hash, generate_password_hash

from sync.ids import new_id

from menwei.web.auth import (ROLES, SERVED_KEY, allow, check_compound, check_csrf, csrf_token, current_principal,
                             password_version, public, served_compounds)
from menwei.web.errors import ApiError
from menwei.web.openapi import accepts
from menwei.accounts import throttle
from menwei.runtime import runtime
from menwei.store.queries import live_ids, live_rows, live_tuples, one_row

bp = Blueprint("accounts", __name__, template_folder="templates")
_COLS = ("id", "compound_id", "username", "display_name", "role", "password_hash", "active")
#: Local state key: {session id: when it ended (ms)} of sessions signed out within SESSION_HOURS.
ENDED_KEY = "ended_sessions"
USERNAME = validate.Regexp(r"^[\w.-]{2,40}$", error="2–40 letters, digits, . _ or -")
PASSWORD = validate.Length(min=8, max=200, error="at least 8 characters")


def load_account(account_id):
    """One account row as a dict (with its hash), or None; a node sees only its compound's accounts."""
    with runtime().store.read() as tx:
        return one_row(tx, "accounts", "id = ?", (account_id,), cols=_COLS)


def _by_username(username):
    with runtime().store.read() as tx:
        return live_rows(tx, "accounts", _COLS, "username = ?", (username.strip().lower(),))


def public_account(acct):
    """An account as the API shows it: never the password hash."""
    return {k: (bool(v) if k == "active" else v) for k, v in acct.items() if k != "password_hash"}


def refuse_at_node():
    """Accounts are made and changed only at the hub (sync.policy): a node says so, naming its hub."""
    rt = runtime()
    if rt.role == "node":
        hub = rt.state("hub_url") or "the hub"
        raise ApiError(403, f"账户只能在社区总台（{hub}）建立和修改，请到总台操作 — accounts are made and changed "
                       f"only at the hub ({hub}): do it there, and this gate has it after its next sync",
                       code="hub_only")


def at_hub_only(view):
    """Refuse a view at a node before its body is even read (accounts are made and changed at the hub)."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        refuse_at_node()
        return view(*args, **kwargs)
    return checked


def _compound_for(given):
    rt = runtime()
    refuse_at_node()
    with rt.store.read() as tx:
        ids = live_ids(tx, "compounds")
    served = served_compounds()
    if served is not None:
        ids = [i for i in ids if i in served]
    if given is None and len(ids) == 1:
        return ids[0]
    if given not in ids:
        raise ApiError(400, "compound_id must name a compound", fields={"compound_id": "unknown or missing"})
    return given


def create_account(username, password, role, display_name=None, compound_id=None):
    """Create an account (replicated to the compound's nodes) and return it without its hash."""
    username = username.strip().lower()
    errors = {}
    if USERNAME.regex.match(username) is None:
        errors["username"] = USERNAME.error
    if not (8 <= len(password or "") <= 200):
        errors["password"] = "at least 8 characters"
    if role not in ROLES:
        errors["role"] = f"one of {', '.join(ROLES)}"
    if errors:
        raise ApiError(400, f"invalid field {next(iter(errors))!r}", fields=errors)
    if any(a["active"] for a in _by_username(username)):
        raise ApiError(409, f"there is already an account {username!r}", fields={"username": "taken"})
    data = {"compound_id": _compound_for(compound_id), "username": username, "display_name": display_name or None,
            "role": role, "password_hash": generate_password_hash(password), "active": True}
    account_id = new_id()
    runtime().replica.write([("accounts", account_id, data)], create=True)
    return public_account({"id": account_id, **data})


def authenticate(username, password):
    """Check a username and password; failures back off per username and per address (429, menwei.throttle).

    The address's limit spares a name that signed in from that address before: one noisy gate laptop
    must not lock out the volunteers who work at it.
    """
    rt = runtime()
    now = rt.wall()
    name, addr = (username or "").strip().lower()[:100], (request.remote_addr or "?")[:45]
    user_key, addr_key, pair_key = "user:" + name, "addr:" + addr, f"ok:{addr}|{name[:60]}"
    limit = rt.config["LOGIN_MAX_FAILURES"]
    with rt.store.read() as tx:
        wait = throttle.wait_s(tx, user_key, limit, now)
        if not throttle.known(tx, pair_key, now):
            wait = max(wait, throttle.wait_s(tx, addr_key, limit * 4, now))
    if wait:
        raise ApiError(429, throttle.wait_message(wait), code="rate_limited", retry_after_s=wait)
    for acct in _by_username(username or ""):
        if acct["active"] and check_password_hash(acct["password_hash"], password or ""):
            with rt.store.write() as tx:
                throttle.forget(tx, user_key)
                throttle.record_known(tx, pair_key, now)
            return acct
    with rt.store.write() as tx:
        throttle.record_failure(tx, (user_key, addr_key), now)
    raise ApiError(401, "wrong username or password", code="bad_credentials")


def start_session(acct):
    """Begin a browser session for ``acct`` (a fresh session id and CSRF token: no fixation)."""
    session.clear()
    session.permanent = True
    session.update(uid=acct["id"], pwv=password_version(acct["password_hash"]), login_at=runtime().wall() / 1000,
                   sid=secrets.token_urlsafe(16))
    return csrf_token()


def end_session():
    """Sign out: the session's id is remembered as ended here, so its cookie, replayed, opens nothing."""
    sid = session.get("sid")
    if sid:
        rt = runtime()
        now, keep_ms = rt.wall(), rt.config["SESSION_HOURS"] * 3_600_000
        with rt.store.write() as tx:
            ended = {k: v for k, v in tx.get_state(ENDED_KEY, {}).items() if v > now - keep_ms}
            ended[sid] = now
            tx.set_state(ENDED_KEY, ended)
    session.clear()


def local_path(target):
    """``target`` if it is a path on this site, else "/": never a redirect to another host.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so "/%09/evil.example"
    would go to //evil.example: any of them, a scheme or a host refuses the target.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F or c.isspace() for c in target):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


@bp.get("/login")
@public
def login_page():
    """The sign-in form."""
    return render_template("login.html", csrf=csrf_token(), next=local_path(request.args.get("next", "/")), error=None)


@bp.post("/login")
@public
def login_submit():
    """Sign in from the form; back to the form with the reason on failure."""
    check_csrf()
    target = local_path(request.form.get("next"))  # never redirect off this site
    try:
        start_session(authenticate(request.form.get("username"), request.form.get("password")))
    except ApiError as e:
        return render_template("login.html", csrf=csrf_token(), next=target, error=e.message), e.status
    return redirect(target)


@bp.post("/logout")
@allow(*ROLES)
def logout_submit():
    """Sign out and go back to the form."""
    end_session()
    return redirect(url_for("accounts.login_page"))


class Login(Schema):
    """Body of POST /api/v1/auth/login."""

    class Meta:
        unknown = RAISE

    # bounded: a failed sign-in stores the username it was tried with (rate limiting), and hashes the password
    username = fields.String(required=True, validate=validate.Length(1, 100))
    password = fields.String(required=True, validate=validate.Length(1, 200))


@bp.post("/api/v1/auth/login")
@public
@accepts(Login)
def api_login(body):
    """Sign in with JSON; the answer carries the CSRF token to send as X-CSRF-Token on writes."""
    if not request.is_json:  # a cross-site form cannot send JSON without the browser asking first
        raise ApiError(415, "send the credentials as application/json")
    acct = authenticate(body["username"], body["password"])
    token = start_session(acct)
    return jsonify({**public_account(acct), "csrf_token": token})


@bp.post("/api/v1/auth/logout")
@allow(*ROLES)
def api_logout():
    """End this session (its cookie is refused from now on)."""
    end_session()
    return jsonify({"signed_out": True})


@bp.get("/api/v1/auth/me")
@allow(*ROLES)
def me():
    """Who is calling, with the session's CSRF token."""
    return jsonify({**current_principal().as_json(), "csrf_token": csrf_token()})


class NewAccount(Schema):
    """Body of POST /api/v1/accounts."""

    class Meta:
        unknown = RAISE

    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=PASSWORD)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    display_name = fields.String(load_default=None, validate=validate.Length(0, 50))
    compound_id = fields.String(load_default=None)


class AccountChange(Schema):
    """Body of PATCH /api/v1/accounts/<id>."""

    class Meta:
        unknown = RAISE

    password = fields.String(validate=PASSWORD)
    role = fields.String(validate=validate.OneOf(ROLES))
    display_name = fields.String(validate=validate.Length(0, 50), allow_none=True)
    active = fields.Boolean()
    # every compound this account serves besides its own, listed explicitly (kept at the hub only)
    compounds = fields.List(fields.String(validate=validate.Length(1, 64)), validate=validate.Length(max=100))


@bp.get("/api/v1/accounts")
@allow()
def list_accounts():
    """List the accounts of the compounds the caller serves (never their password hashes)."""
    served = served_compounds()
    with runtime().store.read() as tx:
        rows = live_tuples(tx, "accounts", _COLS, order="username")
    listed = runtime().state(SERVED_KEY, {}) if runtime().role == "hub" else {}
    accounts = [public_account(dict(zip(_COLS, r))) for r in rows]
    for a in accounts:
        a["compounds"] = sorted({a["compound_id"], *listed.get(a["id"], [])})
    return jsonify({"accounts": [a for a in accounts if served is None or a["compound_id"] in served]})


@bp.post("/api/v1/accounts")
@allow()
@at_hub_only
@accepts(NewAccount)
def add_account(body):
    """Create an account (at the hub only: a node refuses, naming its hub)."""
    return jsonify(create_account(**body)), 201


@bp.patch("/api/v1/accounts/<account_id>")
@allow()
@at_hub_only
@accepts(AccountChange)
def change_account(account_id, body):
    """Change an account's role, name, password or whether it is active (at the hub only; sessions end on a new password)."""
    if not body:
        raise ApiError(400, "nothing to change")
    acct = load_account(account_id)
    if acct is None or (served_compounds() is not None and acct["compound_id"] not in served_compounds()):
        raise ApiError(404, f"no account {account_id}")
    if "password" in body:
        body["password_hash"] = generate_password_hash(body.pop("password"))
    compounds = body.pop("compounds", None)
    if compounds is not None:
        _list_compounds(acct, compounds)
    if body:
        runtime().replica.update("accounts", account_id, body)
    return jsonify(public_account({**acct, **body}))


def _list_compounds(acct, compounds):
    """Record the compounds an account serves besides its own (each must exist and be served by the caller)."""
    rt = runtime()
    with rt.store.read() as tx:
        known = set(live_ids(tx, "compounds"))
    for cid in compounds:
        if cid not in known:
            raise ApiError(400, f"no compound {cid}", fields={"compounds": "unknown compound"})
        check_compound(cid, "compounds")
    with rt.store.write() as tx:
        listed = tx.get_state(SERVED_KEY, {})
        listed[acct["id"]] = sorted(set(compounds) - {acct["compound_id"]})
        tx.set_state(SERVED_KEY, listed)
