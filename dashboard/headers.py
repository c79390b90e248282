"""Security headers on every response: a Content-Security-Policy that allows exactly Dash's own inline
scripts (by hash), no framing, no sniffing, no referrer leaks, HSTS on HTTPS; and no CORS at all."""
from __future__ import annotations

import dash
import flask

MAX_REQUEST_BYTES = 1024 * 1024
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(script_hashes: list[str]) -> str:
    """Scripts and data only from this site; Dash's inline scripts by their hash; inline styles (plotly and
    Dash set style attributes); images also as data: URIs (plotly's exported PNGs)."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def install(app: dash.Dash) -> None:
    """Request size cap and the headers; the policy is built on the first response, after Dash has
    registered its own inline scripts."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    policy: list[str] = []

    @server.after_request
    def secure(response: flask.Response) -> flask.Response:
        if not policy:
            policy.append(content_security_policy(list(app.csp_hashes())))
        response.headers["Content-Security-Policy"] = policy[0]
        response.headers.update(STATIC_HEADERS)
        if flask.request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        for name in [h for h in response.headers.keys() if h.lower().startswith("access-control-")]:
            del response.headers[name]
        if flask.request.path.startswith(("/api/", "/_dash-update-component", "/login", "/auth/", "/aanbieder",
                                          "/attenderingen")):
            response.headers["Cache-Control"] = "no-store"
        if flask.request.path.startswith(("/aanbieder", "/attenderingen/afmelden")):
            # a provider's pages and a signed unsubscribe link tell nobody where they were
            response.headers["Referrer-Policy"] = "no-referrer"
        return response
