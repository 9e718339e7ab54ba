"""What the screens need to print a checkable document: the key its verification code is made
with, and the address users reach Sitthi at (PUBLIC_URL), for the QR code."""
from flask import current_app


def document_secret() -> bytes:
    """SECRET_KEY, the same on every app server: a code made on one checks on the others (and a
    new key makes every printed code fail, as it should after a leak)."""
    secret = current_app.config["SECRET_KEY"]
    return secret if isinstance(secret, bytes) else secret.encode()


def public_url(path: str) -> str:
    """`path` (from url_for) as users reach it, behind the reverse proxy."""
    return current_app.config.get("PUBLIC_URL", "").rstrip("/") + path
