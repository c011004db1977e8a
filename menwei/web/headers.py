"""Security headers on every answer: a strict Content-Security-Policy, no framing, no referrer off-site.

Pages load only this site's own scripts, styles and images; nothing inline runs (no page has inline
script, style or handler attributes: tests/test_trust_headers.py checks every one), so text someone
typed that slipped through escaping still could not run.
"""
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
           "Content-Security-Policy": CSP}


def add_security_headers(response):
    """After every request: the security headers (a route that set its own, stricter CSP keeps it)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response
