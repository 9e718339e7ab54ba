"""`/dashboard/`: the approval dashboard, every figure within the rows its reader may open."""

from flask import current_app, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import get_locale, gettext

from app import labels
from app.extensions import db
from app.formatting import office_clock
from app.models import REQUEST_STATES, Unit
from app.security.scope import Actor, command_units, is_nationwide
from app.services.dashboard import Dashboard, approval_dashboard, shared_reader, stage_timings
from app.shared_figures import family, read, shared
from app.views.scoping import current_actor

TEMPLATE = "sitthi/dashboard.html"
# The request list's search argument for one state (a code column: filter 0 is "equal to").
STATE_FILTER = "_flt_0_state"


class DashboardView(BaseView):
    route_base = "/dashboard"
    default_view = "index"
    class_permission_name = "Dashboard"
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self):
        actor = current_actor()
        shared = shared_reader(actor) is not None
        return self.render_dashboard(dashboard_for(actor), scope_caption(actor),
                                     refresh_seconds=current_app.config.get("DASHBOARD_CACHE_SECONDS", 0) if shared else 0)

    def state_links(self) -> dict[str, str]:
        """A count by state opens the request list of that state, for readers who have that list.

        The list applies the same row scope as the dashboard, so it shows the rows counted; a
        reader without it (Officer, Personnel) gets plain numbers rather than a link that is refused.
        """
        if not self.appbuilder.sm.has_access("can_read", "AccessRequest"):
            return {}
        return {state: url_for("AccessRequestView.list", **{STATE_FILTER: state})
                for state in REQUEST_STATES}

    def render_dashboard(self, dashboard: Dashboard, scope: str = "", refresh_seconds: int = 0) -> str:
        locale = get_locale()
        return self.render_template(
            TEMPLATE,
            dashboard=dashboard,
            labels=labels,
            label_of=labels.label_of,
            language=locale.language if locale else "th",
            state_links=self.state_links(),
            scope=scope,
            refresh_seconds=refresh_seconds,
        )


def dashboard_for(actor: Actor) -> Dashboard:
    """The reader's figures: shared ones (nationwide, one command) are worked out once for all
    their readers and renewed after DASHBOARD_CACHE_SECONDS without a reader waiting
    (app.shared_figures), on every app server when the cache is Redis."""
    shared_by = shared_reader(actor)
    if shared_by is None or current_app.config.get("DASHBOARD_CACHE_SECONDS", 0) <= 0:
        clock = office_clock()
        return approval_dashboard(db.session, actor, clock.today, clock.now, timings=own_timings(actor, clock.today))
    dashboard, _worked_out_at = read("dashboard", *shared_by)
    return dashboard


def own_timings(actor: Actor, today) -> list | None:
    """A reader's own median waits over 90 days, kept for them DASHBOARD_TIMINGS_SECONDS: they move
    slowly, and a head's were half the page's time at national scale (22 of 50 ms, over the
    decisions of 3,346 requests). Their counts stay live, so their own decisions show at once.
    None (worked out with the page) when the setting is 0."""
    seconds = current_app.config.get("DASHBOARD_TIMINGS_SECONDS", 0)
    if seconds <= 0:
        return None
    principals = ",".join(str(pk) for pk in sorted(actor.stands_in_for))
    timings, _worked_out_at = shared(f"dashboard-timings:{actor.user_id}:{principals}:{today.isoformat()}", seconds,
                                     lambda clock: stage_timings(db.session, actor, clock.today))
    return timings


@family("dashboard")
def shared_dashboard(name: str, reader: Actor):
    """The figures `reader` stands for (shared_reader), for today, as app.shared_figures keeps them."""
    today = office_clock().today
    return (f"dashboard:{name}:{today.isoformat()}", current_app.config.get("DASHBOARD_CACHE_SECONDS", 0),
            lambda at: approval_dashboard(db.session, reader, today, at.now))


def scope_caption(actor: Actor) -> str:
    """Whose requests the figures count, so two readers are not puzzled by different numbers."""
    if is_nationwide(actor):
        return gettext("The whole country")
    if command_units(db.session, actor) is not None:
        command = db.session.get(Unit, actor.command_id)
        return gettext("Your command: %(command)s", command=str(command))
    return gettext("Your own requests and those that name you as certifying head")
