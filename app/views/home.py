"""The landing page: who you are and where your work is."""
from datetime import date

from flask_appbuilder import IndexView, expose
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import Officer


class HomeView(IndexView):
    index_template = "sitthi/index.html"

    @expose("/")
    def index(self):
        officer = None
        if current_user.is_authenticated:
            officer = db.session.scalar(select(Officer).where(Officer.user_id == current_user.id))
        return self.render_template(self.index_template, officer=officer, today=date.today())
