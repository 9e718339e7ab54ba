"""Personnel screens: the unit tree and officers' records."""
from flask import current_app, flash, g, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect

from app import labels
from app.datamodel import datamodel
from app.errors import N_, ValidationFailed
from app.extensions import db
from app.formatting import office_clock
from app.models import Officer, Unit, User
from app.read_trail import note_read
from app.services import personnel_rules
from app.views.base import SitthiModelView, code_column, code_field
from app.views.fields import relation_field
from app.views.labels import LABELS
from app.views.permissions import GrantView
from app.views.requests import AccessRequestView
from app.views.scoping import current_actor
from app.views.validators import NationalId

MSG_ONLY_ADMIN_LINKS_LOGINS = N_("Only an administrator may link a login to an officer.")


def may_link_logins() -> bool:
    """Linking a login to a person decides whose rights that login holds: administrators only."""
    return current_app.appbuilder.sm.has_access("can_edit", "UserDBModelView")


class OfficerView(SitthiModelView):
    entity = _l("Officer")
    entities = _l("Officers")
    datamodel = datamodel(Officer)
    class_permission_name = "Officer"
    label_columns = LABELS
    list_columns = [
        "national_id_masked", "rank", "first_name_th", "last_name_th", "position_title",
        "home_unit", "status",
    ]
    show_fieldsets = [
        (
            LABELS["officer"],
            {
                "fields": [
                    "national_id_full", "rank", "first_name_th", "last_name_th",
                    "first_name_en", "last_name_en", "birth_date", "status",
                ]
            },
        ),
        (
            LABELS["position_title"],
            {
                "fields": [
                    "position_title", "position_number", "position_level", "duty_line",
                    "home_unit", "acting_unit", "acting_until",
                ]
            },
        ),
        (LABELS["email"], {"fields": ["email", "mobile", "user", "updated_at"]}),
    ]
    add_columns = edit_columns = [
        "national_id", "rank", "first_name_th", "last_name_th", "first_name_en",
        "last_name_en", "birth_date", "position_title", "position_number", "position_level",
        "duty_line", "status", "home_unit", "acting_unit", "acting_until", "email", "mobile",
        "user",
    ]
    search_columns = [
        "national_id", "first_name_th", "last_name_th", "rank", "home_unit", "status",
        "duty_line",
    ]
    validators_columns = {"national_id": [NationalId()]}
    formatters_columns = {"status": code_column(labels.OFFICER_STATUS)}
    add_form_extra_fields = edit_form_extra_fields = {
        "status": code_field(LABELS["status"], labels.OFFICER_STATUS),
        "home_unit": relation_field(LABELS["home_unit"], Unit, "unit", required=True),
        "acting_unit": relation_field(LABELS["acting_unit"], Unit, "unit"),
        # Personnel keep the record but never touch its login: shown read-only, never read back.
        "user": relation_field(LABELS["user"], User, "user", editable=may_link_logins,
                               locked_note=_l(MSG_ONLY_ADMIN_LINKS_LOGINS)),
    }
    search_form_extra_fields = {
        "status": code_field(LABELS["status"], labels.OFFICER_STATUS),
        "home_unit": relation_field(LABELS["home_unit"], Unit, "unit"),
    }
    base_order = ("id", "asc")
    keyset_pages = True
    related_views = [AccessRequestView, GrantView]
    show_template = "sitthi/officer_show.html"

    def _get_show_widget(self, pk, item, **kwargs):
        """The record is shown only once its reading is in the trail."""
        note_read(current_actor(), "read", officer_ids=[item.id], obj=item)
        return super()._get_show_widget(pk, item, **kwargs)

    def _edit(self, pk):
        """The edit form shows the whole record too: opening it is a read."""
        widgets = super()._edit(pk)
        if request.method == "GET" and widgets is not None:
            note_read(current_actor(), "read", officer_ids=[int(pk)], object_type="Officer", object_id=int(pk),
                      unit_id=db.session.get(Officer, int(pk)).home_unit_id)
        return widgets

    def _check_login_link(self, item) -> None:
        """The form cannot change a link for a non-admin; should anything else try, it is refused."""
        if inspect(item).attrs.user.history.has_changes() and not may_link_logins():
            raise ValidationFailed(MSG_ONLY_ADMIN_LINKS_LOGINS)

    def pre_add(self, item) -> None:
        self._check_login_link(item)
        super().pre_add(item)
        self._apply_rules(item)

    def pre_update(self, item) -> None:
        self._check_login_link(item)
        super().pre_update(item)
        self._apply_rules(item)

    @staticmethod
    def _apply_rules(item) -> None:
        """The officer's rights follow the record in the same transaction (marked retired: revoked now)."""
        g._sitthi_rules = personnel_rules.apply(db.session, office_clock(), officer_ids=[item.id],
                                                actor_user_id=g.user.id)

    def post_add(self, item) -> None:
        self._tell_rules()

    def post_update(self, item) -> None:
        self._tell_rules()

    @staticmethod
    def _tell_rules() -> None:
        done = g.pop("_sitthi_rules", None) or {}
        if any(done.values()):
            flash(gettext("The officer's rights now follow the record: %(revoked)s revoked, %(suspended)s "
                          "suspended, %(logins)s login deactivated, %(flags)s flagged for the command.",
                          revoked=done["revoked"], suspended=done["suspended"],
                          logins=done["logins_deactivated"], flags=done["flags"]), "warning")


class UnitView(SitthiModelView):
    entity = _l("Unit")
    entities = _l("Units")
    datamodel = datamodel(Unit)
    class_permission_name = "Unit"
    label_columns = LABELS
    list_columns = ["code", "abbr_th", "name_th", "kind", "province_th", "parent", "is_admin_scope"]
    show_columns = add_columns = edit_columns = [
        "code", "name_th", "name_en", "abbr_th", "kind", "province_th", "parent",
        "is_admin_scope", "is_active",
    ]
    search_columns = ["code", "name_th", "abbr_th", "kind", "province_th", "parent", "is_admin_scope"]
    formatters_columns = {"kind": code_column(labels.UNIT_KIND)}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": code_field(LABELS["kind"], labels.UNIT_KIND),
        "parent": relation_field(LABELS["parent"], Unit, "unit"),
    }
    search_form_extra_fields = {
        "kind": code_field(LABELS["kind"], labels.UNIT_KIND),
        "parent": relation_field(LABELS["parent"], Unit, "unit"),
    }
    base_order = ("code", "asc")
    related_views = [OfficerView]
