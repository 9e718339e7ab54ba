"""Linkage Center screens: data fields and justification questions per source (Admin), agencies'
super users (CentralIT keeps them, Auditor reads), and the letters kept as PDFs.

A letter is served only here, to the nationwide roles that read agreements and super users
(CentralIT, Auditor, Admin): the letters are the agencies', not any command's, so there is no
row scope beyond the role, and a guessed id gives others 403 like the screen itself.
"""
from urllib.parse import quote

from flask import Response, abort, current_app, g
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from markupsafe import Markup
from wtforms.validators import NumberRange, StopValidation

from app.datamodel import datamodel
from app.errors import ValidationFailed
from app.extensions import db
from app.models import AgencySuperUser, DataField, JustificationQuestion, LinkageLetter
from app.read_trail import note_read
from app.services import linkage
from app.views.base import SitthiModelView, code_column, code_field
from app.views.labels import LABELS
from app.views.scoping import current_actor

ANSWER_KIND = {"text": _l("Text"), "number": _l("Number (digits only)"), "date": _l("Date")}
ORDERED_LABELS = {**LABELS, "position": LABELS["order"]}
LETTER_LABEL = _l("Letter (PDF)")
LETTER_HELP = _l("PDF only; choose a file only to replace the letter kept.")


class LetterPdf:
    """Checks the chosen letter as an attachment is checked, and refuses it at its field."""

    def __call__(self, form, field):
        field.checked = None
        upload = field.data
        if not upload or not getattr(upload, "filename", None):
            return
        try:
            field.checked = linkage.check_letter(upload.filename, upload.read(),
                                                 current_app.config["ATTACHMENT_MAX_BYTES"])
        except ValidationFailed as refused:
            raise StopValidation(refused.translated()) from None


def letter_field() -> FileField:
    return FileField(LETTER_LABEL, [LetterPdf()], description=LETTER_HELP)


def letter_link(letter) -> Markup:
    if letter is None:
        return Markup("")
    return Markup('<a href="/linkageletters/file/{}" class="sitthi-letter">{}</a>').format(letter.id, letter.filename)


class KeepsLetter:
    """A screen whose form takes a letter PDF (`letter_pdf`), kept when the row is saved."""

    def process_form(self, form, is_created):
        field = getattr(form, "letter_pdf", None)
        g.letter_checked = getattr(field, "checked", None)
        # The file is not a column: FAB's populate_obj would set it on the row as it is.
        if field is not None:
            del form.letter_pdf
        super().process_form(form, is_created)

    def _keep_letter(self, item) -> None:
        checked = g.pop("letter_checked", None)
        if checked is not None:
            item.letter = linkage.keep_letter(db.session, checked, getattr(g.user, "id", None))

    def pre_add(self, item) -> None:
        self._keep_letter(item)
        super().pre_add(item)

    def pre_update(self, item) -> None:
        self._keep_letter(item)
        super().pre_update(item)


class FieldsOfTheAgency:
    """An agreement allows only fields of its own agency's sources."""

    def __call__(self, form, field):
        agency = form.agency.data if hasattr(form, "agency") else None
        foreign = linkage.foreign_fields(agency.id if agency else None, field.data or [])
        if foreign:
            raise StopValidation(ValidationFailed(
                linkage.MSG_FIELDS_OF_OTHER_AGENCY, agency=str(agency or "-"),
                fields=", ".join(str(f) for f in foreign)).translated())


class DataFieldView(SitthiModelView):
    entity = _l("Data field")
    entities = _l("Data fields")
    datamodel = datamodel(DataField)
    class_permission_name = "DataField"
    label_columns = ORDERED_LABELS
    list_columns = ["data_source", "position", "code", "name_th", "name_en"]
    show_columns = add_columns = edit_columns = ["data_source", "position", "code", "name_th", "name_en"]
    search_columns = ["data_source", "code", "name_th", "name_en"]
    base_order = ("data_source_id", "asc")


class JustificationQuestionView(SitthiModelView):
    entity = _l("Justification question")
    entities = _l("Justification questions")
    datamodel = datamodel(JustificationQuestion)
    class_permission_name = "JustificationQuestion"
    label_columns = ORDERED_LABELS
    list_columns = ["data_source", "position", "label_th", "answer_kind", "required", "is_active"]
    show_columns = add_columns = edit_columns = [
        "data_source", "position", "label_th", "label_en", "answer_kind", "required", "max_length", "is_active",
    ]
    search_columns = ["data_source", "label_th", "label_en", "required", "is_active"]
    formatters_columns = {"answer_kind": code_column(ANSWER_KIND)}
    add_form_extra_fields = edit_form_extra_fields = {"answer_kind": code_field(LABELS["answer_kind"], ANSWER_KIND)}
    validators_columns = {"max_length": [NumberRange(min=1, max=2000)]}
    base_order = ("data_source_id", "asc")


class AgencySuperUserView(KeepsLetter, SitthiModelView):
    """Each agency's super user at the Linkage Center, and the letter that appointed them."""

    entity = _l("Agency super user")
    entities = _l("Agency super users")
    datamodel = datamodel(AgencySuperUser)
    class_permission_name = "AgencySuperUser"
    label_columns = {**LABELS, "position": _l("Position")}
    list_columns = ["agency", "name", "position", "phone", "email", "valid_from", "valid_until"]
    show_columns = [
        "agency", "name", "position", "phone", "email", "letter_number", "letter_date", "letter",
        "valid_from", "valid_until", "note", "created_at", "updated_at",
    ]
    add_columns = edit_columns = [
        "agency", "name", "position", "phone", "email", "letter_number", "letter_date", "letter_pdf",
        "valid_from", "valid_until", "note",
    ]
    search_columns = ["agency", "name", "valid_from", "valid_until"]
    formatters_columns = {"letter": letter_link}
    add_form_extra_fields = edit_form_extra_fields = {"letter_pdf": letter_field()}
    base_order = ("agency_id", "asc")

    def pre_add(self, item) -> None:
        self._check_dates(item)
        super().pre_add(item)

    def pre_update(self, item) -> None:
        self._check_dates(item)
        super().pre_update(item)

    @staticmethod
    def _check_dates(item) -> None:
        if item.valid_until is not None and item.valid_from is not None and item.valid_until < item.valid_from:
            db.session.rollback()
            raise ValidationFailed(linkage.MSG_SUPER_USER_DATES)


class LinkageLetterView(BaseView):
    route_base = "/linkageletters"
    default_view = "file"
    class_permission_name = "LinkageLetter"
    method_permission_name = {"file": "read"}

    @expose("/file/<int:letter_id>")
    @has_access
    def file(self, letter_id: int):
        letter = db.session.get(LinkageLetter, letter_id)
        if letter is None:
            abort(404)
        note_read(current_actor(), "download", officer_ids=[], obj=letter, summary=f"letter: {letter.filename}")
        return Response(letter.content, mimetype=letter.content_type, headers={
            "Content-Disposition": "attachment; filename*=UTF-8''" + quote(letter.filename, safe=""),
            "X-Content-Type-Options": "nosniff"})
