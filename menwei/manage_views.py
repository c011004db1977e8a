"""The coordinator's management page: nodes and their tokens, control rules, passes and sign-in accounts.

Every action goes through the same /api/v1 routes a node's pages and scripts use; this is only the page.
"""
from flask import Blueprint, render_template

from .auth import allow
from .gate_rules import DEFAULTS
from .runtime import runtime

pages = Blueprint("manage_pages", __name__)


@pages.get("/manage")
@allow()
def manage_page():
    """Nodes (register, revoke), control rules (in force, add), passes (batch issue, print, revoke), accounts."""
    return render_template("manage.html", is_hub=runtime().role == "hub", defaults=DEFAULTS)
