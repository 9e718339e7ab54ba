"""Sessions and tokens that end when they should, and a soft lockout after failed logins.

A Flask session lives in a signed cookie: the server forgets nothing when a user logs out, so a
copy of the cookie taken before /logout/ went on working, and so did a refresh token after a
password change. Each user therefore has a *generation* in the database (`login_generation`),
written into their session at login and into every JWT they are issued. Logging out, changing or
resetting a password moves it on: every session and token of the older generation is refused on
its next request, by every worker and server, since they all read the same row.

A session also ends after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after the
login, whatever happens in between.

Failed logins are counted per username (hashed), for names that exist and names that do not
alike, so the lockout cannot tell an attacker which names are real. After LOGIN_LOCKOUT_FAILURES
failures within LOGIN_LOCKOUT_MINUTES, that username is refused for LOGIN_LOCKOUT_MINUTES, on the
login page and the API alike, and the user is told when to try again.
"""
import hashlib
from datetime import UTC, datetime, timedelta

from flask import current_app, has_request_context, session
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from app.errors import N_
from app.models import LoginGeneration, LoginThrottle

GENERATION, LOGGED_IN_AT, SEEN_AT = "sitthi_generation", "sitthi_logged_in_at", "sitthi_seen_at"
GENERATION_CLAIM = "generation"

MSG_SESSION_ENDED = N_("Your session has ended: please sign in again.")
MSG_LOCKED = N_("Too many failed sign-ins for this username. Try again after %(time)s.")


class LoginLocked(TooManyRequests):
    """A username refused until `until` after repeated failures."""

    def __init__(self, until: datetime):
        super().__init__()
        self.until = until

    @property
    def seconds(self) -> int:
        return max(1, int((self.until - now()).total_seconds()) + 1)


def now() -> datetime:
    """The request's now: the edge of the app is where the clock is read (app.formatting)."""
    from app.formatting import office_clock

    return office_clock().now


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# -- generations -----------------------------------------------------------------------------
def generation_of(db_session, user_id: int) -> int:
    found = db_session.scalar(select(LoginGeneration.generation).where(LoginGeneration.user_id == user_id))
    return found or 0


def end_everything_of(db_session, user_id: int) -> None:
    """Every session and token of the user ends on its next request (the caller commits)."""
    row = _locked_row(db_session, LoginGeneration, {"user_id": user_id, "generation": 0})
    row.generation += 1


def start_session(db_session, user_id: int) -> None:
    """Mark the browser session that has just logged in with the user's generation."""
    moment = now().isoformat()
    session[GENERATION] = generation_of(db_session, user_id)
    session[LOGGED_IN_AT] = session[SEEN_AT] = moment


def session_is_current(db_session, user_id: int, generation: int | None = None) -> bool:
    """The browser session is of the user's generation (read here unless given), not idle too
    long, not too old; a current session is marked as seen now."""
    if not has_request_context():
        return True
    config = current_app.config
    moment = now()
    logged_in_at, seen_at = session.get(LOGGED_IN_AT), session.get(SEEN_AT)
    try:
        logged_in_at = datetime.fromisoformat(logged_in_at)
        seen_at = datetime.fromisoformat(seen_at)
    except (TypeError, ValueError):
        return False
    if moment - seen_at > timedelta(minutes=config["SESSION_IDLE_MINUTES"]):
        return False
    if moment - logged_in_at > timedelta(hours=config["SESSION_MAX_HOURS"]):
        return False
    if generation is None:
        generation = generation_of(db_session, user_id)
    if session.get(GENERATION) != generation:
        return False
    session[SEEN_AT] = moment.isoformat()
    return True


def token_is_current(db_session, jwt_payload: dict) -> bool:
    try:
        user_id = int(jwt_payload["sub"])
    except (KeyError, TypeError, ValueError):
        return False
    return jwt_payload.get(GENERATION_CLAIM, 0) == generation_of(db_session, user_id)


def _locked_row(db_session, model, values: dict):
    """The row of `model` with these key values, made if missing and locked for this transaction:
    two workers failing the same username at once must both count, and neither may fail."""
    dialect = db_session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db_session.execute(insert(model).values(**values).on_conflict_do_nothing())
    key = values[model.__mapper__.primary_key[0].key]
    return db_session.get(model, key, with_for_update=True, populate_existing=True)


# -- lockout ---------------------------------------------------------------------------------
def username_key(username) -> str:
    name = username.strip().lower() if isinstance(username, str) else ""
    return hashlib.sha256(("login:" + name).encode()).hexdigest()


def refuse_if_locked(db_session, username) -> None:
    row = db_session.get(LoginThrottle, username_key(username))
    until = _as_utc(row.locked_until) if row is not None else None
    if until is not None and until > now():
        raise LoginLocked(until)


def count_failure(db_session, username) -> None:
    """One more failure for this username; past the limit, lock it (the caller commits)."""
    config = current_app.config
    window = timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"])
    moment = now()
    key = username_key(username)
    row = _locked_row(db_session, LoginThrottle, {"username_key": key, "failures": 0})
    if row.first_failed_at is None or moment - _as_utc(row.first_failed_at) > window:
        row.failures, row.first_failed_at = 0, moment
    row.failures += 1
    if row.failures >= config["LOGIN_LOCKOUT_FAILURES"]:
        row.locked_until, row.failures, row.first_failed_at = moment + window, 0, None


def forget_failures(db_session, username) -> None:
    row = db_session.get(LoginThrottle, username_key(username))
    if row is not None:
        db_session.delete(row)


# -- what a locked-out login is told -----------------------------------------------------------
LOGIN_ENDPOINTS = ("AuthDBView.login", "SecurityApi.login")
MAX_USERNAME = 64    # ab_user.username
MAX_PASSWORD = 256


def register(app) -> None:
    # Before the login views: FAB's API turns any exception inside its view into a 500.
    app.before_request(_refuse_locked_logins)
    app.register_error_handler(LoginLocked, _answer_locked)


def _refuse_locked_logins() -> None:
    from flask import request

    if request.method != "POST" or request.endpoint not in LOGIN_ENDPOINTS:
        return
    from app.input_guard import MSG_TOO_LONG, InputRefused

    if request.is_json:
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else {}
        username, password = body.get("username"), body.get("password")
    else:
        username, password = request.form.get("username"), request.form.get("password")
    # Longer than any account's name or password: refused before it costs a hash or counts.
    for field, value, limit in (("username", username, MAX_USERNAME), ("password", password, MAX_PASSWORD)):
        if isinstance(value, str) and len(value) > limit:
            raise InputRefused(MSG_TOO_LONG, field=field, limit=limit)
    refuse_if_locked(current_app.appbuilder.sm.session, username)


def _answer_locked(error: LoginLocked):
    from flask import flash, jsonify, redirect, request, url_for

    from app.errors import translate
    from app.formatting import format_datetime

    message = translate(MSG_LOCKED, {"time": format_datetime(error.until)})
    if request.path.startswith("/api/"):
        response = jsonify(message=message, field="username")
        response.status_code = 429
    else:
        flash(message, "danger")
        response = redirect(url_for("AuthDBView.login"))
    response.headers["Retry-After"] = str(error.seconds)
    return response
