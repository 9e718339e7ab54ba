"""`/dashboard/`: the approval dashboard for the people who run the desk."""

from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import get_locale

from app import labels
from app.extensions import db
from app.formatting import local_today
from app.services.dashboard import Dashboard, approval_dashboard

TEMPLATE = "sitthi/dashboard.html"


class DashboardView(BaseView):
    route_base = "/dashboard"
    default_view = "index"
    class_permission_name = "Dashboard"
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self):
        return self.render_dashboard(approval_dashboard(db.session, local_today()))

    def render_dashboard(self, dashboard: Dashboard) -> str:
        locale = get_locale()
        return self.render_template(
            TEMPLATE,
            dashboard=dashboard,
            labels=labels,
            label_of=labels.label_of,
            language=locale.language if locale else "th",
        )
