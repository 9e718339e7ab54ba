"""Reference data an Admin keeps as data: ranks, duty lines, sources, chains, holidays."""
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, TextAreaField

from app import labels
from app.datamodel import datamodel
from app.models import (
    Agency,
    ApprovalChain,
    ApprovalStage,
    DataSharingAgreement,
    DataSource,
    DutyLine,
    Holiday,
    PositionLevel,
    Rank,
    RankGroup,
    RequiredDocument,
    SystemFunction,
    User,
)
from app.views.base import SitthiModelView, code_column, code_field
from app.views.fields import AjaxRelationField
from app.views.labels import LABELS
from app.views.linkage import FieldsOfTheAgency, KeepsLetter, letter_field, letter_link
from app.views.validators import StageRule


class RankGroupView(SitthiModelView):
    entity = _l("Rank group")
    entities = _l("Rank groups")
    datamodel = datamodel(RankGroup)
    class_permission_name = "RankGroup"
    label_columns = {**LABELS, "number": LABELS["number_group"]}
    list_columns = ["number", "name_th", "name_en"]
    show_columns = add_columns = edit_columns = ["number", "name_th", "name_en"]
    search_columns = ["name_th", "name_en"]
    base_order = ("number", "asc")


class RankView(SitthiModelView):
    entity = _l("Rank")
    entities = _l("Ranks")
    datamodel = datamodel(Rank)
    class_permission_name = "Rank"
    label_columns = LABELS
    list_columns = ["order", "abbr_th", "name_th", "name_en", "rank_class", "rank_group"]
    show_columns = add_columns = edit_columns = [
        "order", "name_th", "abbr_th", "name_en", "abbr_en", "rank_class", "rank_group",
    ]
    search_columns = ["name_th", "abbr_th", "name_en", "rank_group"]
    formatters_columns = {"rank_class": code_column(labels.RANK_CLASS)}
    add_form_extra_fields = edit_form_extra_fields = {
        "rank_class": code_field(LABELS["rank_class"], labels.RANK_CLASS)
    }
    base_order = ("order", "desc")


class DutyLineView(SitthiModelView):
    entity = _l("Duty line")
    entities = _l("Duty lines")
    datamodel = datamodel(DutyLine)
    class_permission_name = "DutyLine"
    label_columns = LABELS
    list_columns = ["code", "name_th", "name_en", "external_search_eligible"]
    show_columns = add_columns = edit_columns = list_columns
    search_columns = ["code", "name_th", "name_en", "external_search_eligible"]


class PositionLevelView(SitthiModelView):
    entity = _l("Position level")
    entities = _l("Position levels")
    datamodel = datamodel(PositionLevel)
    class_permission_name = "PositionLevel"
    label_columns = LABELS
    list_columns = ["order", "code", "name_th", "name_en", "is_unit_head"]
    show_columns = add_columns = edit_columns = list_columns
    search_columns = ["code", "name_th", "name_en", "is_unit_head"]
    base_order = ("order", "asc")


class HolidayView(SitthiModelView):
    entity = _l("Holiday")
    entities = _l("Holidays")
    datamodel = datamodel(Holiday)
    class_permission_name = "Holiday"
    label_columns = LABELS
    list_columns = ["day", "name_th", "name_en"]
    show_columns = add_columns = edit_columns = list_columns
    search_columns = ["day", "name_th", "name_en"]
    base_order = ("day", "desc")


class AgreementView(KeepsLetter, SitthiModelView):
    """The owner agency's permission letter (Linkage Center rule): its number, date and PDF, the
    dates it is in force, and the data fields of the agency's sources it allows."""

    entity = _l("Data-sharing agreement")
    entities = _l("Data-sharing agreements")
    datamodel = datamodel(DataSharingAgreement)
    class_permission_name = "DataSharingAgreement"
    label_columns = {**LABELS, "reference": _l("Permission letter number"), "signed_on": _l("Letter date")}
    list_columns = ["agency", "reference", "signed_on", "valid_from", "valid_until"]
    show_columns = [
        "agency", "reference", "signed_on", "letter", "valid_from", "valid_until", "allowed_fields", "note",
    ]
    add_columns = edit_columns = [
        "agency", "reference", "signed_on", "letter_pdf", "valid_from", "valid_until", "allowed_fields", "note",
    ]
    search_columns = ["agency", "reference", "valid_from", "valid_until"]
    formatters_columns = {"letter": letter_link, "allowed_fields": lambda fields: ", ".join(map(str, fields or []))}
    add_form_extra_fields = edit_form_extra_fields = {"letter_pdf": letter_field()}
    validators_columns = {"allowed_fields": [FieldsOfTheAgency()]}


class DataSourceView(SitthiModelView):
    entity = _l("Data source")
    entities = _l("Data sources")
    datamodel = datamodel(DataSource)
    class_permission_name = "DataSource"
    label_columns = LABELS
    list_columns = [
        "code", "name_th", "agency", "is_open", "needs_rank_group",
        "needs_external_activation", "default_validity_months",
    ]
    show_columns = add_columns = edit_columns = [
        "code", "name_th", "name_en", "agency", "is_open", "needs_rank_group",
        "needs_external_activation", "activation_days", "default_validity_months", "description",
    ]
    search_columns = ["code", "name_th", "name_en", "agency", "is_open"]


class AgencyView(SitthiModelView):
    entity = _l("Agency")
    entities = _l("Agencies")
    datamodel = datamodel(Agency)
    class_permission_name = "Agency"
    label_columns = LABELS
    list_columns = ["code", "name_th", "name_en", "contact_email"]
    show_columns = add_columns = edit_columns = list_columns
    search_columns = ["code", "name_th", "name_en"]
    related_views = [DataSourceView, AgreementView]


class SystemFunctionView(SitthiModelView):
    entity = _l("System function")
    entities = _l("System functions")
    datamodel = datamodel(SystemFunction)
    class_permission_name = "SystemFunction"
    label_columns = LABELS
    list_columns = ["code", "name_th", "min_position_level", "duty_line", "is_active"]
    show_columns = add_columns = edit_columns = [
        "code", "name_th", "name_en", "description", "min_position_level", "duty_line",
        "default_validity_months", "is_active",
    ]
    search_columns = ["code", "name_th", "name_en", "min_position_level", "duty_line", "is_active"]


class EmptyOrWholeNumber(IntegerField):
    """A whole number, or nothing (None): an empty box is a rule switched off, not an error."""

    def process_formdata(self, valuelist):
        if valuelist and not str(valuelist[0]).strip():
            self.data = None
            return
        super().process_formdata(valuelist)


def _days_field(name: str) -> IntegerField:
    # No Optional(): it would stop the chain, and an empty box can be what is wrong (days needed).
    return EmptyOrWholeNumber(LABELS[name], validators=[StageRule(name)],
                              description=_l("Business days since the request reached this stage; empty: off."))


def _optional_code(name: str, mapping: dict) -> SelectField:
    """A select of translated names that may be left empty (stored as NULL)."""
    return SelectField(LABELS[name], validators=[StageRule(name)], choices=[("", "—"), *mapping.items()],
                       coerce=lambda value: value or None, widget=Select2Widget())


class ApprovalStageView(SitthiModelView):
    """Stages of a chain, with their chasing rules (app/services/chasing.py): each field of the
    rules is judged with the others, and a problem shows at its field."""

    entity = _l("Approval stage")
    entities = _l("Approval stages")
    datamodel = datamodel(ApprovalStage)
    class_permission_name = "ApprovalStage"
    label_columns = LABELS
    list_columns = ["chain", "position", "name_th", "actor", "due_business_days", "remind_after_days",
                    "escalate_after_days", "return_after_days"]
    show_columns = add_columns = edit_columns = [
        "chain", "position", "name_th", "name_en", "actor", "due_business_days",
        "remind_after_days", "escalate_after_days", "escalate_to", "escalate_to_user", "escalate_to_role",
        "return_after_days", "return_reason",
    ]
    search_columns = ["chain", "name_th", "actor"]
    formatters_columns = {"actor": code_column(labels.STAGE_ACTOR),
                          "escalate_to": code_column(labels.ESCALATION_TARGET),
                          "escalate_to_role": code_column(labels.ESCALATION_ROLE)}
    add_form_extra_fields = edit_form_extra_fields = {
        "actor": code_field(LABELS["actor"], labels.STAGE_ACTOR),
        "remind_after_days": _days_field("remind_after_days"),
        "escalate_after_days": _days_field("escalate_after_days"),
        "escalate_to": _optional_code("escalate_to", labels.ESCALATION_TARGET),
        "escalate_to_user": AjaxRelationField(LABELS["escalate_to_user"], validators=[StageRule("escalate_to_user")],
                                              model=User, lookup_kind="user"),
        "escalate_to_role": _optional_code("escalate_to_role", labels.ESCALATION_ROLE),
        "return_after_days": _days_field("return_after_days"),
        "return_reason": TextAreaField(LABELS["return_reason"], validators=[StageRule("return_reason")],
                                       filters=[lambda value: (value or "").strip() or None]),
    }
    base_order = ("chain_id", "asc")


class ApprovalChainView(SitthiModelView):
    entity = _l("Approval chain")
    entities = _l("Approval chains")
    datamodel = datamodel(ApprovalChain)
    class_permission_name = "ApprovalChain"
    label_columns = LABELS
    list_columns = ["request_kind", "name_th", "is_active"]
    show_columns = ["request_kind", "name_th", "name_en", "is_active"]
    add_columns = edit_columns = show_columns
    search_columns = ["request_kind", "name_th", "is_active"]
    formatters_columns = {"request_kind": code_column(labels.REQUEST_KIND)}
    add_form_extra_fields = edit_form_extra_fields = {
        "request_kind": code_field(LABELS["request_kind"], labels.REQUEST_KIND)
    }
    related_views = [ApprovalStageView]


class RequiredDocumentView(SitthiModelView):
    """The documents each kind of request must carry before it is submitted (the circulars'
    list: the memo signed by the head, the ID-card copy, the duty certificate when duty differs)."""

    entity = _l("Required document")
    entities = _l("Required documents")
    datamodel = datamodel(RequiredDocument)
    class_permission_name = "RequiredDocument"
    label_columns = LABELS
    list_columns = ["request_kind", "attachment_kind", "condition"]
    show_columns = add_columns = edit_columns = list_columns
    search_columns = ["request_kind", "attachment_kind", "condition"]
    formatters_columns = {
        "request_kind": code_column(labels.REQUEST_KIND),
        "attachment_kind": code_column(labels.ATTACHMENT_KIND),
        "condition": code_column(labels.REQUIREMENT_CONDITION),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "request_kind": code_field(LABELS["request_kind"], labels.REQUEST_KIND),
        "attachment_kind": code_field(LABELS["attachment_kind"], labels.ATTACHMENT_KIND),
        "condition": code_field(LABELS["condition"], labels.REQUIREMENT_CONDITION),
    }
    base_order = ("request_kind", "asc")
