"""Carrying out an export run (app.job_queue hands it here): the file is written as if the user
who asked had asked for it now, never with more rights than they hold now.

The run names the view that writes the file, the address it was asked from and the reader's
language. In an app context of its own, with a request context of that address, the user who
asked is the current user again; their role must still allow the view's permission (a user who
lost it, or whose login was deactivated, gets a failed run, not a file), and the view's file
method reads the rows under the same row scope and filters as its screen.
"""
from urllib.parse import urlsplit

from flask import current_app, g, request
from flask_babel import force_locale
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from app.errors import N_, NotAllowed
from app.extensions import db
from app.formatting import current_language, office_clock
from app.models import JobRun
from app.services import jobs

MSG_NO_LONGER = N_("You may no longer read what this export holds.")
MSG_REFUSED = N_("The export was refused: what it was asked for can no longer be read.")


def asked_here(view, endpoint: str, fmt: str) -> dict:
    """What a run keeps to write `view.export_files[endpoint]` as asked at this address: the view,
    the address and its arguments (the list's filters), the format and the reader's language."""
    return {
        "view": type(view).__name__, "endpoint": endpoint, "format": fmt, "method": request.method,
        "path": request.path,
        "args": [[name, value] for name, value in request.args.items(multi=True) if name != "format"],
        "language": current_language(), "remote_addr": request.remote_addr, "back": _page_asked_from(),
    }


def _page_asked_from() -> str | None:
    """The page of this site the button was on (path and query), for the run page's way back;
    None for anything else (another site, no referrer)."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or not referrer.path.startswith("/") or referrer.path.startswith("//"):
        return None
    return (referrer.path + (f"?{referrer.query}" if referrer.query else ""))[:2000]


def perform_export(run_id: int) -> None:
    app = current_app._get_current_object()
    parameters = db.session.scalar(select(JobRun.parameters).where(JobRun.id == run_id)) or {}
    # A context of its own: its globals (the current user, the actor) and its database session
    # are the run's, not those of a request that carried it out inline.
    asked_at = app.test_request_context(
        parameters.get("path") or "/", method=parameters.get("method") or "POST",
        query_string=[tuple(pair) for pair in parameters.get("args") or []],
        environ_base={"REMOTE_ADDR": parameters.get("remote_addr") or ""})
    with app.app_context(), asked_at:
        # Progress is committed while the rows read stay loaded: a commit would expire them all.
        db.session().expire_on_commit = False
        try:
            jobs.execute_export(db.session, office_clock(), run_id, _write)
        finally:
            db.session.remove()


def _write(run: JobRun, progress) -> jobs.ExportFile:
    parameters = run.parameters or {}
    appbuilder = current_app.appbuilder
    user = db.session.get(appbuilder.sm.user_model, run.started_by_id) if run.started_by_id else None
    if user is None or not user.is_active:
        raise NotAllowed(MSG_NO_LONGER)
    # The user who asked is the current user of this context, for the screens (Flask-Login) and
    # for the API (the JWT it was asked with was checked then; here only its user is needed).
    g._login_user = g.user = user
    g._jwt_extended_jwt = {"sub": str(user.id)}
    g._jwt_extended_jwt_user = {"loaded_user": user}
    view = next((v for v in appbuilder.baseviews if type(v).__name__ == parameters.get("view")), None)
    endpoint = parameters.get("endpoint")
    method = getattr(view, "export_files", {}).get(endpoint)
    if method is None:
        raise NotAllowed(MSG_REFUSED)
    permission = "can_" + view.method_permission_name.get(endpoint, endpoint)
    if not appbuilder.sm.has_access(permission, view.class_permission_name):
        raise NotAllowed(MSG_NO_LONGER)
    with force_locale(parameters.get("language") or "th"):
        try:
            return getattr(view, method)(parameters.get("format"), progress)
        except HTTPException as refused:  # the view's own checks of the address refused it
            raise NotAllowed(MSG_REFUSED) from refused
