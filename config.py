"""Sitthi settings, every one of them read from the environment.

Nothing here is secret by default: SECRET_KEY is generated once into instance/ when unset,
so a fresh clone works and a production deploy sets its own.
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("SITTHI_INSTANCE_DIR") or BASE_DIR / "instance")  # empty: the default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The environment wins; otherwise one key per instance folder, kept across restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "DATABASE_URL", "sqlite:///" + str(INSTANCE_DIR / "sitthi.db")
)
# hide_parameters: a database error names the statement, never the values (national IDs, names)
# it was sent with, so no log or error report carries them.
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
SQLALCHEMY_TRACK_MODIFICATIONS = False

APP_NAME = "Sitthi สิทธิ์"
APP_THEME = ""
FAB_BASE_TEMPLATE = "sitthi_baselayout.html"
FAB_INDEX_VIEW = "app.views.home.HomeView"
FAB_SECURITY_MANAGER_CLASS = "app.security.manager.SitthiSecurityManager"

# The schema belongs to Alembic and roles to `flask sitthi init` (see ../shared/FAB5.md).
FAB_CREATE_DB = False
FAB_UPDATE_PERMS = False

AUTH_TYPE = AUTH_DB
AUTH_ROLE_ADMIN = "Admin"
AUTH_ROLE_PUBLIC = "Public"
AUTH_USER_REGISTRATION = False
AUTH_RATE_LIMITED = True
RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
# Login attempts per client address and per username, the HTML and the API login together.
AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per 20 second")
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
# Every search that answers as you type (pickers, /lookup), per login, all of them together.
LOOKUP_RATE_LIMIT = os.environ.get("LOOKUP_RATE_LIMIT", "60 per minute")
FAB_PASSWORD_COMPLEXITY_ENABLED = True  # the validator itself is set in create_app()

PERMANENT_SESSION_LIFETIME = int(os.environ.get("SESSION_LIFETIME_SECONDS", 8 * 3600))
# A session ends after this long without a request, and this long after its login, whatever else.
SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", 30))
SESSION_MAX_HOURS = int(os.environ.get("SESSION_MAX_HOURS", 12))
# A refresh token lives no longer than a browser session may.
JWT_REFRESH_TOKEN_EXPIRES = timedelta(hours=SESSION_MAX_HOURS)
# After this many failed logins for one username within LOGIN_LOCKOUT_MINUTES, that username is
# refused for LOGIN_LOCKOUT_MINUTES (login page and API alike).
LOGIN_LOCKOUT_FAILURES = int(os.environ.get("LOGIN_LOCKOUT_FAILURES", 5))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", 15))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Secure whenever a page is served over HTTPS (app/security/headers.py); true forces it always.
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
# How many reverse proxies in front of the app to believe about the client's address, scheme and
# host (X-Forwarded-For/-Proto/-Host); 0: none, forwarded headers are ignored.
PROXY_FIX = int(os.environ.get("PROXY_FIX", 0))
# Redirect plain HTTP to HTTPS in the app (usually the proxy does it).
FORCE_HTTPS = _env_bool("FORCE_HTTPS", False)
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None

BABEL_DEFAULT_LOCALE = "th"
BABEL_DEFAULT_TIMEZONE = os.environ.get("TIMEZONE", "Asia/Bangkok")
BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
LANGUAGES = {
    "th": {"flag": "th", "name": "ไทย"},
    "en": {"flag": "gb", "name": "English"},
}

FAB_API_SWAGGER_UI = True
# The OpenAPI document is served by app.api.contract (conformed to what the endpoints answer), and
# the menu API, for single-page front ends, is not served: the screens render their own menu.
FAB_ADD_OPENAPI_VIEWS = False
FAB_ADD_MENU_API = False
FAB_API_MAX_PAGE_SIZE = 100

# Attachments (PDF/JPEG, checked by content in the request service).
MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 20 * 1024 * 1024))
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024))
UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))

# Outgoing mail (notifications outbox).
# Where users reach Sitthi: links in e-mails point here.
PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8080")
MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "sitthi@localhost")

# Business rules that an administrator may tune without a deploy of code.
DEFAULT_VALIDITY_MONTHS = int(os.environ.get("DEFAULT_VALIDITY_MONTHS", 12))
EXPIRY_REMINDER_DAYS = int(os.environ.get("EXPIRY_REMINDER_DAYS", 30))
# The rights audit flags a search right nobody used for this many days (agencies' query counts).
RIGHTS_AUDIT_UNUSED_DAYS = int(os.environ.get("RIGHTS_AUDIT_UNUSED_DAYS", 90))
# A list counts its rows up to this many, then says "1,000+" and goes on by "Next rows": counting
# further read thousands of rows on every page of a command's list at national scale.
LIST_COUNT_CAP = int(os.environ.get("LIST_COUNT_CAP", 1000))

# The dashboard's figures are worked out once for every reader who sees the same ones (the
# nationwide roles; the staff of one command) and shared for this many seconds, then renewed
# beside the next reader's request while that reader still gets them at once; 0 works them out
# on every view. At national scale a command's figures cost the database a fifth of a second.
DASHBOARD_CACHE_SECONDS = int(os.environ.get("DASHBOARD_CACHE_SECONDS", 60))
# A reader's own median waits at each stage over 90 days (a unit head's, an officer's: figures of
# their own, never shared) are kept for them this many seconds; their counts are always live.
DASHBOARD_TIMINGS_SECONDS = int(os.environ.get("DASHBOARD_TIMINGS_SECONDS", 600))
# The rights audit screen's list of a command's users and its counts, shared the same way (a page's
# own officers are always judged as they are; exports and the printed report are never shared).
RIGHTS_AUDIT_CACHE_SECONDS = int(os.environ.get("RIGHTS_AUDIT_CACHE_SECONDS", 60))
# Shared figures older than this are not shown while new ones are worked out: after a quiet spell
# the first reader waits for new ones.
SHARED_FIGURES_STALE_SECONDS = int(os.environ.get("SHARED_FIGURES_STALE_SECONDS", 600))
# `flask sitthi renew-shared-figures` keeps warm the figures someone read within this many hours
# (a day: the next morning's first reader finds that day's figures ready).
SHARED_FIGURES_KEEP_WARM_HOURS = float(os.environ.get("SHARED_FIGURES_KEEP_WARM_HOURS", 24))
# Where shared figures are kept: a Redis URL, so every app server shares them (default: the rate
# limits' Redis, when they use one); unset, each server process keeps its own.
CACHE_URL = os.environ.get("CACHE_URL") or (RATELIMIT_STORAGE_URI if RATELIMIT_STORAGE_URI.startswith("redis") else None)
CACHE_TYPE = "RedisCache" if CACHE_URL else "SimpleCache"
CACHE_REDIS_URL = CACHE_URL
CACHE_KEY_PREFIX = "sitthi:"

# Background jobs (imports): the Redis URL of an RQ queue that `flask sitthi worker` serves; unset,
# a job runs in a thread of the web process. JOBS_INLINE runs it before the request returns (tests).
JOB_QUEUE_URL = os.environ.get("JOB_QUEUE_URL") or None
JOBS_INLINE = _env_bool("JOBS_INLINE", False)
# The largest file an import screen takes (under MAX_CONTENT_LENGTH; a whole force goes through `flask sitthi import-personnel`).
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", 15 * 1024 * 1024))

# The Garuda (ตราครุฑ) printed 1.5 cm high on every บันทึกข้อความ, a PNG or JPEG file: by default
# the black emblem shipped in app/static/img (its origin in app/static/img/NOTICE.md); a force that
# keeps the government's own file points this at it.
MEMO_EMBLEM = os.environ.get("MEMO_EMBLEM") or str(BASE_DIR / "app" / "static" / "img" / "garuda.png")

# Operations: how long /health waits for the database and each Redis before it answers 503.
HEALTH_TIMEOUT_SECONDS = float(os.environ.get("HEALTH_TIMEOUT_SECONDS", 2))
