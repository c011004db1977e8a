"""Security headers on every answer: a strict Content-Security-Policy, no framing, no referrer off-site.

Pages load only this site's own scripts, styles and images; nothing inline runs, so text someone typed
that slipped through escaping still could not run. One page still carries inline code while it is being
moved into static files (the roster page); its policy allows inline code and nothing else more.
"""
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Endpoints whose templates still hold inline <script> or <style> (or style= attributes): being moved out.
STILL_INLINE = {"roster_pages.roster_page"}
INLINE_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'") \
    .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}


def policy_for(endpoint):
    """The Content-Security-Policy of a page served by ``endpoint``."""
    return INLINE_CSP if endpoint in STILL_INLINE else CSP


def add_security_headers(response):
    """After every request: the security headers (a route that set its own, stricter CSP keeps it)."""
    from flask import request
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", policy_for(request.endpoint))
    return response
