"""Every screen and menu entry, registered in one place."""
from flask_appbuilder import AppBuilder

from app.views import health, notifications
from app.views.grant_certificate import GrantCertificateView
from app.views.grant_expiry import GrantRenewalView
from app.views.help import HelpView
from app.views.linkage import LinkageLetterView
from app.views.lookup import LookupView
from app.views.menu import MENU
from app.views.verify import VerifyView


def register(appbuilder: AppBuilder) -> None:
    for category, category_label, category_icon, items in MENU:
        for name, label, view_class, icon in items:
            appbuilder.add_view(
                view_class,
                name,
                label=label,
                icon=icon,
                category=category,
                category_label=category_label,
                category_icon=category_icon,
            )
    appbuilder.add_view_no_menu(LookupView)
    appbuilder.add_view_no_menu(GrantRenewalView)
    appbuilder.add_view_no_menu(HelpView)
    appbuilder.add_view_no_menu(VerifyView)
    appbuilder.add_view_no_menu(GrantCertificateView)
    appbuilder.add_view_no_menu(LinkageLetterView)
    health.register(appbuilder)
    notifications.register(appbuilder.app)
    _move_security_menu_last(appbuilder)


def _move_security_menu_last(appbuilder: AppBuilder) -> None:
    """FAB adds its Security menu before ours; people's daily work should come first."""
    items = appbuilder.menu.menu
    items.sort(key=lambda item: item.name == "Security")
