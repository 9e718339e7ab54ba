"""What every answer tells the browser, and what the app believes about the proxy in front of it.

Headers come from Flask-Talisman (as Apache Superset does): a Content-Security-Policy without
inline script (FAB's own templates carry the per-request nonce Talisman hands out, ours load
their scripts from /static), no framing by other sites, nosniff, a Referrer-Policy, a
Permissions-Policy that turns off the camera, microphone and location, and HSTS on HTTPS.

Behind a reverse proxy (PROXY_FIX = how many proxies to trust), werkzeug's ProxyFix makes the
client's address, scheme and host the request's own: the audit trail records the officer's IP
rather than the proxy's, and the session cookie is marked Secure whenever the page was served
over HTTPS. Without PROXY_FIX, forwarded headers are ignored (anyone could send them).
"""
from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    # FAB's templates and widgets set style attributes inline; scripts stay nonce-only.
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS = {feature: "()" for feature in (
    "camera", "microphone", "geolocation", "payment", "usb", "serial", "bluetooth", "interest-cohort")}


class SessionCookieSecureOnHttps(SecureCookieSessionInterface):
    """The session cookie is Secure when the page came over HTTPS (through the proxy, by
    X-Forwarded-Proto), or always if SESSION_COOKIE_SECURE says so; a plain-HTTP desk (`make run`)
    keeps working."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def register(app: Flask) -> None:
    hops = app.config["PROXY_FIX"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
    app.session_interface = SessionCookieSecureOnHttps()
    Talisman(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=True,  # Talisman sends it on HTTPS answers only
        session_cookie_secure=False,     # decided per request above
        content_security_policy=POLICY,
        content_security_policy_nonce_in=["script-src"],
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy=PERMISSIONS,
    )

    @app.after_request
    def never_cached(response):
        # Pages carry personnel data: never keep them in a shared cache.
        response.headers.setdefault("Cache-Control", "no-store")
        return response
