"""Every answer carries the security headers from Flask-Talisman; behind a proxy the app believes
X-Forwarded-* only when PROXY_FIX says so; gunicorn does not announce itself."""
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import AuditEvent
from tests.conftest import Browser, build_app

ROOT = Path(__file__).resolve().parent.parent


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
            for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize("who, url, status", [
    (None, "/login/", 200),
    ("commandtech", "/officerview/list/", 200),
    ("commandtech", "/requests/new/external_search", 200),
    ("admin", "/unitview/show/1", 200),
    ("officer", "/no-such-page/", 404),
    (None, "/static/sitthi.js", 200),
    (None, "/api/v1/requests/", 401),
])
def test_every_kind_of_answer_carries_the_headers(app, login, who, url, status):
    client = login(who) if who else Browser(app.test_client())
    response = client.get(url)
    assert response.status_code == status
    policy = _policy(response)
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "geolocation=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_the_pages_inline_scripts_carry_the_policys_nonce(login):
    response = login("commandtech").get("/officerview/list/")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    html = response.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline, "the list page has inline scripts (FAB's actions and filters)"
    assert all(f'nonce="{nonce}"' in attributes for attributes in inline), inline
    # And no inline event handler anywhere on the page.
    assert not re.search(r"\son(click|submit|change|load|input)=", html)
    # A new nonce for every answer.
    again = login("commandtech").get("/officerview/list/")
    assert re.search(r"'nonce-([^']+)'", again.headers["Content-Security-Policy"]).group(1) != nonce


def test_https_answers_carry_hsts(app):
    response = app.test_client().get("/login/", base_url="https://sitthi.example")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def _login_behind_proxy(app, forwarded_for: str):
    client = app.test_client()
    headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "sitthi.example",
               "Referer": "https://sitthi.example/login/"}  # Flask-WTF checks it on HTTPS
    page = client.get("/login/", headers=headers)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/login/", headers=headers,
                       data={"username": "auditor", "password": "Sitthi@demo1", "csrf_token": token})


def _last_login_address(app) -> str | None:
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(AuditEvent.remote_addr).where(AuditEvent.action == "login")
                                 .order_by(AuditEvent.id.desc()).limit(1))


def test_behind_a_proxy_the_cookie_is_secure_and_the_audit_has_the_officers_address(app):
    proxied = build_app(app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=app.config["SECRET_KEY"], PROXY_FIX=1)
    response = _login_behind_proxy(proxied, "203.0.113.9")
    assert response.status_code == 302
    cookie = [value for name, value in response.headers.items() if name == "Set-Cookie" and value.startswith("session=")]
    assert cookie and "Secure" in cookie[0] and "HttpOnly" in cookie[0]
    assert _last_login_address(app) == "203.0.113.9"
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_without_proxy_fix_a_forged_forwarded_for_is_ignored(app):
    response = _login_behind_proxy(app, "198.51.100.7")
    assert response.status_code == 302
    assert _last_login_address(app) == "127.0.0.1"
    cookie = [value for name, value in response.headers.items() if name == "Set-Cookie" and value.startswith("session=")]
    assert cookie and "Secure" not in cookie[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_does_not_announce_itself(app):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "test-only",
           "RATELIMIT_ENABLED": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "app:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    headers = dict(answer.headers)
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not answer")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "Server" not in headers, headers
    assert headers.get("X-Content-Type-Options") == "nosniff"
