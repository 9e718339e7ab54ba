"""The help menu: the guide of the user's role, from docs/guides (Thai first, then English).

The guides' pictures are screenshots of the real app on demo data, taken by the browser tests
(tests/test_guides.py; `make guides` writes them), so they never show a screen that is gone.
"""
import re
from pathlib import Path

import markdown
from flask import abort, redirect, send_from_directory, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

GUIDE_DIR = Path(__file__).resolve().parents[2] / "docs" / "guides"
# (guide, title) in the order the help page lists them.
GUIDES = (
    ("officer", _l("Officer")),
    ("head", _l("Certifying head")),
    ("centralit", _l("Central IT center")),
    ("commandtech", _l("Command technology staff")),
    ("personnel", _l("Personnel")),
    ("auditor", _l("Auditor")),
    ("admin", _l("Administrator")),
)
# The first of a user's roles found here names their guide; a unit head's is "head".
GUIDE_OF_ROLE = (("Admin", "admin"), ("CentralIT", "centralit"), ("CommandTech", "commandtech"),
                 ("Personnel", "personnel"), ("Auditor", "auditor"))
SHOT = re.compile(r"<!-- shot: .*? -->\n?")
PICTURE = re.compile(r"^[a-z0-9-]{1,80}\.jpg$")


def guide_of(user, certifies: bool) -> str:
    names = {role.name for role in user.roles}
    for role, guide in GUIDE_OF_ROLE:
        if role in names:
            return guide
    return "head" if certifies else "officer"


def render_guide(name: str) -> Markup:
    text = SHOT.sub("", (GUIDE_DIR / f"{name}.md").read_text(encoding="utf-8"))
    html = markdown.markdown(text, extensions=["sane_lists"])
    pictures = url_for("HelpView.picture", filename="_")[:-1]
    return Markup(html.replace('src="img/', f'src="{pictures}'))


class HelpView(BaseView):
    route_base = "/help"
    default_view = "index"
    class_permission_name = "Help"
    method_permission_name = {"index": "read", "guide": "read", "picture": "read"}

    @expose("/")
    @has_access
    def index(self):
        certifies = self.appbuilder.sm._certifies(current_user)
        return redirect(url_for(".guide", name=guide_of(current_user, certifies)))

    @expose("/<name>")
    @has_access
    def guide(self, name: str):
        if name not in dict(GUIDES):
            abort(404)
        return self.render_template("sitthi/help.html", guides=GUIDES, current=name, body=render_guide(name))

    @expose("/img/<filename>")
    @has_access
    def picture(self, filename: str):
        if not PICTURE.match(filename):
            abort(404)
        return send_from_directory(GUIDE_DIR / "img", filename, max_age=3600)
