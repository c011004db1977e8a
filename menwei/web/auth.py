"""Who may call what: roles, the access rule on every route, sessions, API tokens and CSRF.

Every view declares its access with ``@allow(...)`` or ``@public``; a route that declares nothing is
refused (fail closed), and a test walks every route of hub and node against an expected table.
"""
import hashlib
import secrets

from flask import current_app, g, has_request_context, redirect, request, session, url_for

from menwei.web.errors import ApiError
from menwei.runtime import runtime

ROLES = ("coordinator", "operator", "volunteer", "viewer")
ANYONE_SIGNED_IN = ROLES
_SAFE = ("GET", "HEAD", "OPTIONS")

#: Generic row writes (/api/v1/rows/<table>) beyond the coordinator, by table. Accounts have their own API.
TABLE_WRITERS = {
    "incidents": {"operator"},
    "handovers": {"operator", "volunteer"},
    "orders": {"volunteer"}, "order_lines": {"volunteer"}, "receipts": {"volunteer"}, "repayments": {"volunteer"},
}
#: Tables only a coordinator may read through the generic API.
COORDINATOR_ONLY_TABLES = {"accounts"}


class Principal:
    """The caller of a request: an account signed in with a session, or the coordinator API token."""

    def __init__(self, name, role, account_id=None, via="session", display_name=None, compounds=None):
        self.name, self.role, self.account_id, self.via = name, role, account_id, via
        self.display_name = display_name or name
        #: The compounds this principal serves (frozenset), or None for every one (the hub's API token).
        self.compounds = compounds

    def may(self, roles):
        """Whether this principal has one of ``roles`` (a coordinator may do everything)."""
        return self.role == "coordinator" or self.role in roles

    def as_json(self):
        """The principal as shown by GET /api/v1/auth/me."""
        return {"username": self.name, "role": self.role, "display_name": self.display_name,
                "account_id": self.account_id, "via": self.via,
                "compounds": None if self.compounds is None else sorted(self.compounds)}


def allow(*roles):
    """Declare that a view may be called by these roles (and always by a coordinator)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def mark(view):
        view.menwei_access = frozenset(roles) | {"coordinator"}
        return view
    return mark


def public(view):
    """Declare that a view needs no sign-in (the login page, static files, node sync with its own token)."""
    view.menwei_access = "public"
    return view


def mark_public(app, prefix):
    """Declare every endpoint whose name starts with ``prefix`` public (blueprints that check their own tokens)."""
    for name, view in app.view_functions.items():
        if name.startswith(prefix):
            view.menwei_access = "public"


def password_version(password_hash):
    """A short fingerprint of a password hash: a session ends when the password changes."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _token_principal(token):
    expected = current_app.config.get("ADMIN_TOKEN")
    if expected and secrets.compare_digest(token, expected):
        return Principal("api-token", "coordinator", via="token")
    stored = runtime().state("admin_token_hash")
    if stored and secrets.compare_digest(hashlib.sha256(token.encode()).hexdigest(), stored):
        return Principal("api-token", "coordinator", via="token")
    raise ApiError(401, "wrong API token")


def _session_principal():
    from menwei.accounts.views import load_account  # accounts imports this module for its decorators
    uid = session.get("uid")
    if not uid:
        return None
    hours = current_app.config["SESSION_HOURS"]
    acct = load_account(uid)
    if (acct is None or not acct["active"] or session.get("pwv") != password_version(acct["password_hash"])
            or runtime().wall() / 1000 - session.get("login_at", 0) > hours * 3600
            or not session.get("sid") or session["sid"] in runtime().state("ended_sessions", {})):
        session.clear()
        return None
    return Principal(acct["username"], acct["role"], acct["id"], "session", acct.get("display_name"),
                     compounds_served(acct))


#: Hub state key: {account id: [compound id, …]} of the accounts that serve more than their own compound.
SERVED_KEY = "account_compounds"


def compounds_served(acct):
    """The compounds an account serves: its own, and those listed for it at the hub (PATCH /api/v1/accounts)."""
    extra = runtime().state(SERVED_KEY, {}).get(acct["id"], []) if runtime().role == "hub" else []
    return frozenset([acct["compound_id"], *extra])


def served_compounds():
    """The compounds the caller of this request may read and write, or None for every one.

    None at a node (it holds its own compound only) and for the hub's API token; at the hub a signed-in
    account serves its own compound and those listed for it.
    """
    who = g.get("principal") if has_request_context() else None
    if who is None or who.compounds is None or runtime().role != "hub":
        return None
    return who.compounds


def served_nodes(nodes):
    """The registered nodes (dicts with compound_id) of the compounds the caller serves."""
    served = served_compounds()
    return list(nodes) if served is None else [n for n in nodes if n["compound_id"] in served]


def served_clause(column):
    """(" AND column IN (…)", parameters) keeping a query to the compounds the caller serves; ("", []) for all."""
    served = served_compounds()
    if served is None:
        return "", []
    return f" AND {column} IN ({', '.join('?' * len(served))})", sorted(served)


def check_compound(compound_id, field="compound_id"):
    """Refuse (403 naming ``field``) a compound the caller does not serve."""
    served = served_compounds()
    if served is not None and compound_id not in served:
        raise ApiError(403, f"这个账号不负责该小区 — this account does not serve compound {compound_id}",
                       fields={field: "not a compound this account serves"}, code="other_compound")


def current_principal():
    """The principal of this request, or None (memoised on ``g``)."""
    if "principal" not in g:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            g.principal = _token_principal(auth[7:].strip())
        else:
            g.principal = _session_principal()
    return g.principal


def csrf_token():
    """This session's CSRF token (made on first use); forms and scripts send it back."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf():
    """Refuse a state-changing request from a browser session without the session's CSRF token."""
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    if not sent or not session.get("csrf") or not secrets.compare_digest(sent, session["csrf"]):
        raise ApiError(403, "CSRF token missing or wrong; reload the page", code="csrf")


def enforce():
    """Before every request: find the route's declared access and refuse whoever may not call it."""
    if request.endpoint is None:
        return None  # no such route: a plain 404
    if request.endpoint == "static" or request.endpoint.endswith(".static"):
        return None  # the pages' own scripts and styles, shipped in the package
    view = current_app.view_functions.get(request.endpoint)
    access = getattr(view, "menwei_access", None)
    if access == "public":
        return None
    if access is None:
        current_app.logger.error("route %s declares no access rule; refused", request.endpoint)
        raise ApiError(403, "this route declares no access rule")
    who = current_principal()
    if who is None:
        if request.method == "GET" and not request.path.startswith(("/api/", "/sync/")):
            return redirect(url_for("accounts.login_page", next=request.full_path.rstrip("?")))
        raise ApiError(401, "sign in first (session) or send Authorization: Bearer <API token>")
    if who.via == "session" and request.method not in _SAFE:
        check_csrf()
    if not who.may(access):
        raise ApiError(403, f"a {who.role} may not do this", code="forbidden")
    if "compound_id" in request.args:  # every route's compound filter: only a compound the caller serves
        check_compound(request.args["compound_id"])
    return None


def may_call(view):
    """Whether the caller of this request passes ``view``'s access rule: a page offers a control only then."""
    who = current_principal()
    access = getattr(view, "menwei_access", None)
    return access == "public" or (who is not None and access is not None and who.may(access))


def require_role(*roles):
    """Inside a view: refuse the caller unless they have one of ``roles`` (403)."""
    who = current_principal()
    if who is None or not who.may(roles):
        raise ApiError(403, f"a {who.role if who else 'visitor'} may not do this", code="forbidden")
    return who


def require_table_write(table_name):
    """Refuse a generic row write to ``table_name`` by a role that may not change it."""
    if table_name == "accounts":
        raise ApiError(403, "accounts are changed through /api/v1/accounts", code="forbidden")
    require_role(*TABLE_WRITERS.get(table_name, ()))


def require_table_read(table_name):
    """Refuse a generic row read of a coordinator-only table."""
    if table_name in COORDINATOR_ONLY_TABLES:
        require_role()


def signed_in_name():
    """The display name of the person signed in to this browser session (None for API tokens)."""
    who = g.get("principal")
    return who.display_name if who and who.via == "session" else None


def actor_name():
    """The name recorded as who did something in this request (operator fields, audit)."""
    who = g.get("principal")
    return who.name if who else None
