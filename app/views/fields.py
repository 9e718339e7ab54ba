"""A select that searches the server as you type, for relations to big tables.

FAB's own related-field select loads the whole related table on every form and filter; with
230,000 officers and 1,700 units that is the difference between 30 ms and 30 s. This field sends
only the chosen row, and `/lookup/<kind>` answers searches 20 rows at a time.
"""
from flask import url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import Field
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Optional, ValidationError

from app.domain.inputs import as_id
from app.extensions import db
from app.security.scope import is_visible
from app.views.scoping import current_actor


class AjaxSelectWidget:
    def __call__(self, field: "AjaxRelationField", **kwargs) -> Markup:
        kwargs.setdefault("id", field.id)
        if field.locked:
            return Markup('<p class="form-control-static" id="{id}">{value}</p>'
                          '<span class="help-block">{note}</span>').format(
                id=kwargs["id"], value=str(field.data) if field.data is not None else "",
                note=field.locked_note or "")
        css = kwargs.pop("class", "") or kwargs.pop("class_", "")
        option = ""
        if field.data is not None:
            option = (
                f'<option value="{escape(field.data.id)}" selected>{escape(str(field.data))}</option>'
            )
        return Markup(
            '<select name="{name}" id="{id}" class="form-control sitthi-ajax-select {css}" '
            'data-url="{url}" data-placeholder="{ph}" data-msg-short="{short}" '
            'data-msg-none="{none}" data-msg-searching="{searching}" data-msg-error="{error}" '
            'data-scope-toggle="{toggle}" '
            'style="width:100%"><option value=""></option>{option}</select>'
        ).format(
            name=field.name,
            id=kwargs["id"],
            css=css,
            url=url_for(*field.endpoint) if field.endpoint else url_for(
                "LookupView.lookup", kind=field.lookup_kind),
            toggle=escape(field.scope_toggle or ""),
            ph=str(_l("Type to search")),
            short=str(_l("Type at least one character")),
            none=str(_l("Nothing found")),
            searching=str(_l("Searching…")),
            error=str(_l("The search did not answer. Try again in a moment.")),
            option=Markup(option),
        )


class AjaxRelationField(Field):
    widget = AjaxSelectWidget()

    def __init__(self, label=None, validators=None, model=None, lookup_kind="", endpoint=None,
                 scope_toggle=None, editable=None, locked_note=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.model = model
        self.lookup_kind = lookup_kind
        # Another search than /lookup (e.g. heads of the officer's own command), and the id of a
        # checkbox whose state widens that search (e.g. "search nationwide").
        self.endpoint = endpoint
        self.scope_toggle = scope_toggle
        # Who may change this relation (a callable, asked per request); the others see it
        # read-only, with `locked_note` saying why.
        self.editable = editable
        self.locked_note = locked_note

    @property
    def locked(self) -> bool:
        return self.editable is not None and not self.editable()

    def process(self, formdata, data=unset_value, extra_filters=None):
        """A locked relation never reads what was posted: a value the user cannot pick (and may
        not even see) would otherwise be refused, or be a way round the lock."""
        if self.locked:
            formdata = None
            self.raw_data = []
        super().process(formdata, data, extra_filters)

    def populate_obj(self, obj, name):
        if not self.locked:  # the stored relation stays exactly as it was
            super().populate_obj(obj, name)

    def process_data(self, value):
        self.data = value

    def process_formdata(self, valuelist):
        raw = valuelist[0] if valuelist else ""
        if raw in ("", None, "__None"):
            self.data = None
            return
        pk = as_id(raw)
        if pk is None:  # past INTEGER the database would refuse the lookup itself
            self.data = None
            raise ValidationError(_l("Not a valid choice."))
        self.data = db.session.get(self.model, pk)
        # A value typed into the form by hand is held to the same scope as the /lookup choices; a
        # field with its own search (the certifying head) leaves the judgement to its service.
        outside = self.endpoint is None and not is_visible(db.session, current_actor(), self.model, pk)
        if self.data is None or outside:
            self.data = None
            raise ValidationError(_l("The chosen record does not exist."))

    def _value(self):
        return str(self.data.id) if self.data is not None else ""


def relation_field(label, model, lookup_kind: str, required: bool = False, editable=None,
                   locked_note=None) -> AjaxRelationField:
    """The AJAX select for one relation; `lookup_kind` names the /lookup search behind it."""
    return AjaxRelationField(
        label,
        [DataRequired()] if required else [Optional()],
        model=model,
        lookup_kind=lookup_kind,
        editable=editable,
        locked_note=locked_note,
    )
