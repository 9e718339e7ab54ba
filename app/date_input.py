"""The one date field of every screen and filter: dd/mm/yyyy in the reader's era, with a calendar.

Thai readers type and pick Buddhist-Era dates (17/05/2523), English readers Gregorian ones; the
rules of what a typed date may be are app.domain.inputs.entered_date. The calendar is sitthi.js's
(`input.sitthi-date`): FAB's picker and the browser's own date input spoke only Gregorian English
and silently dropped "17/05/2523".
"""
from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import DateField
from wtforms.widgets import html_params

from app.domain.inputs import entered_date, shown_date
from app.errors import ValidationFailed
from app.formatting import current_language

PLACEHOLDER_BE = _l("dd/mm/yyyy (B.E.)")
PLACEHOLDER_CE = _l("dd/mm/yyyy")


def reads_buddhist_era() -> bool:
    return current_language() == "th"


def date_input(name: str, value: date | None = None, *, maximum: date | None = None,
               minimum: date | None = None, **attributes) -> Markup:
    """<input> of a date in the reader's era; `maximum`/`minimum` bound the calendar (the server
    checks them again)."""
    buddhist = reads_buddhist_era()
    attributes.setdefault("id", name)
    attributes["class"] = " ".join(filter(None, ("form-control sitthi-date", attributes.pop("class_", None),
                                                 attributes.pop("class", None))))
    return Markup("<input %s>") % Markup(html_params(
        type="text", name=name, value=shown_date(value, buddhist) if isinstance(value, date) else (value or ""),
        placeholder=str(PLACEHOLDER_BE if buddhist else PLACEHOLDER_CE), inputmode="numeric",
        autocomplete="off", maxlength=10, **{"data-era": "be" if buddhist else "ce",
                                            "data-max": maximum.isoformat() if maximum else None,
                                            "data-min": minimum.isoformat() if minimum else None,
                                            "lang": current_language()}, **attributes))


class EnteredDateInput:
    def __call__(self, field, **kwargs):
        kwargs.pop("type", None)  # templates that once asked for the browser's date input
        maximum, minimum = kwargs.pop("max", None), kwargs.pop("min", None)
        return date_input(field.name, field.data if field.data else (field.raw_data or [""])[0],
                          maximum=date.fromisoformat(maximum) if maximum else None,
                          minimum=date.fromisoformat(minimum) if minimum else None,
                          id=kwargs.pop("id", field.id), **kwargs)


class EnteredDateField(DateField):
    """DateField reading entered_date: its message, not WTForms' "Not a valid date value"."""
    widget = EnteredDateInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.pop("widget", None)
        kwargs.pop("format", None)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = None
        try:
            self.data = entered_date(valuelist[0], reads_buddhist_era())
        except ValidationFailed as refused:
            raise ValueError(refused.translated()) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return shown_date(self.data, reads_buddhist_era()) if self.data else ""


def form_date(name: str) -> date | None:
    """A date field of a hand-written form, read as EnteredDateField reads it. Raises ValidationFailed."""
    return entered_date(request.form.get(name), reads_buddhist_era())


def register(app) -> None:
    app.jinja_env.globals["date_input"] = date_input
