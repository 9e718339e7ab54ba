"""Rate limits: every search that answers as you type, per user; both login doors, per client
address and per username.

There is one Flask-Limiter per app, the one FAB builds (`appbuilder.sm.limiter`, active when
RATELIMIT_ENABLED), and so one storage for every count: RATELIMIT_STORAGE_URI, memory:// by
default, redis:// when several workers must count together.

- Searches (each view marked `@search_endpoint`) share one budget per login, LOOKUP_RATE_LIMIT:
  whoever rebuilds data one search at a time is slowed alike whichever picker they type into.
- Logins are counted per client address and per username tried, AUTH_RATE_LIMIT each. The HTML
  login (`/login/`) and the API's (`POST /api/v1/security/login`) share both counts: a guess at
  a password through one door is a guess through the other. FAB's own login limit (per address,
  HTML only) is switched off in SitthiSecurityManager so that it does not count twice.

A refused request answers 429 with a Retry-After header and a translated message saying when to
try again: JSON `{"message": ...}` for searches and the API, the login page for `/login/`.
"""
import hashlib
import math
import time

from flask import Flask, current_app, flash, jsonify, make_response, render_template, request
from flask_appbuilder.security.forms import LoginForm_db
from flask_babel import gettext
from flask_limiter.util import get_remote_address
from flask_login import current_user

from app.errors import N_

MSG_TOO_MANY_SEARCHES = N_("Too many searches in a short time. Try again in %(seconds)s seconds.")
MSG_TOO_MANY_LOGINS = N_("Too many login attempts. Try again in %(seconds)s seconds.")

SEARCH_SCOPE = "search"
LOGIN_ADDRESS_SCOPE = "login-address"
LOGIN_USERNAME_SCOPE = "login-username"


def search_endpoint(view):
    """Marks a view as a search that answers as you type: `register` limits it per user."""
    view.is_search_endpoint = True
    return view


def search_page(view):
    """A search whose answer is a page (checking a document's code): limited like the others,
    and refused with a page of the app rather than JSON."""
    view.answers_with_a_page = True
    return search_endpoint(view)


def register(app: Flask, appbuilder) -> None:
    """Put the limits on the app's searches and login doors (after every view is registered)."""
    limiter = appbuilder.sm.limiter
    if not limiter.enabled:
        return
    searches = limiter.shared_limit(app.config["LOOKUP_RATE_LIMIT"], SEARCH_SCOPE,
                                    key_func=_user_key, on_breach=_too_many_searches)
    for endpoint, view in list(app.view_functions.items()):
        if getattr(view, "is_search_endpoint", False):
            app.view_functions[endpoint] = searches(view)
    if app.config.get("AUTH_RATE_LIMITED"):
        sm = appbuilder.sm
        doors = {
            f"{sm.auth_view.endpoint}.login": _login_page_too_many,
            f"{sm.security_api.__name__}.login": _api_login_too_many,
        }
        rate = app.config["AUTH_RATE_LIMIT"]
        for endpoint, on_breach in doors.items():
            view = app.view_functions[endpoint]
            # Stacked on one view, both limits are checked together (Flask-Limiter's own rule).
            view = limiter.shared_limit(rate, LOGIN_ADDRESS_SCOPE, key_func=_client_address,
                                        methods=["POST"], on_breach=on_breach)(view)
            view = limiter.shared_limit(rate, LOGIN_USERNAME_SCOPE, key_func=_username_tried,
                                        methods=["POST"], on_breach=on_breach)(view)
            app.view_functions[endpoint] = view


# -- who is counted ---------------------------------------------------------------------------------
def _client_address() -> str:
    """The client, as the app identifies it (RATELIMIT_KEY_FUNC, as FAB's limiter does)."""
    return "address:" + current_app.config.get("RATELIMIT_KEY_FUNC", get_remote_address)()


def _user_key() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return _client_address()


def _username_tried() -> str:
    """The username of a login attempt, from the form or the API's JSON body.

    Hashed: a password typed into the username box by mistake must not sit in the limiter's
    storage. Case and surrounding spaces are ignored, as FAB finds usernames case-insensitively.
    """
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    name = name.strip().lower() if isinstance(name, str) else ""
    return "username:" + hashlib.sha256(name.encode()).hexdigest()[:32]


# -- what a refused request is told --------------------------------------------------------------------
def _seconds_to_wait(limit) -> int:
    """Until the window of the breached limit ends (Flask-Limiter's `reset_at` adds a second)."""
    return max(1, math.ceil(limit.window.reset_time - time.time()))


def _refused(response, seconds: int):
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return response


def _too_many_searches(limit):
    seconds = _seconds_to_wait(limit)
    message = gettext(MSG_TOO_MANY_SEARCHES, seconds=seconds)
    if getattr(current_app.view_functions.get(request.endpoint), "answers_with_a_page", False):
        appbuilder = current_app.appbuilder
        page = render_template("sitthi/input_refused.html", message=message, appbuilder=appbuilder,
                               base_template=appbuilder.base_template, back=None, code=429)
        return _refused(make_response(page), seconds)
    return _refused(jsonify(message=message), seconds)


def _api_login_too_many(limit):
    seconds = _seconds_to_wait(limit)
    return _refused(jsonify(message=gettext(MSG_TOO_MANY_LOGINS, seconds=seconds)), seconds)


def _login_page_too_many(limit):
    """The login page again, saying how long to wait; nothing was checked."""
    seconds = _seconds_to_wait(limit)
    flash(gettext(MSG_TOO_MANY_LOGINS, seconds=seconds), "danger")
    view = current_app.appbuilder.sm.auth_view
    page = view.render_template(view.login_template, title=view.title, form=LoginForm_db(),
                                appbuilder=view.appbuilder)
    return _refused(make_response(page), seconds)
