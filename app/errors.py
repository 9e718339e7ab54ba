"""Typed errors that carry a translatable message.

Rules raise these without importing Flask; the view or API layer translates `message` in the
user's language with `params`, so a Thai user reads Thai and an English user reads English.
"""
from datetime import date

from app.domain.named import Named


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


def translate(message: str, params: dict | None = None) -> str:
    """A marked message in the reader's language; marked labels among the params are too."""
    from flask import has_app_context

    params = params or {}
    if not has_app_context():
        return message % params if params else message
    text = catalogue().ugettext(message)
    return text % {k: _in_words(v) for k, v in params.items()} if params else text


def catalogue():
    """The reader's translations (looked up once per request and language: see
    app.formatting.RequestDomain)."""
    from flask_babel import get_translations

    return get_translations()


def _in_words(value):
    """A param as the reader reads it: a marked label translated, a date in their calendar."""
    from app.formatting import current_language, format_date

    if isinstance(value, Named):
        return value.in_language(current_language())
    if isinstance(value, str):
        return catalogue().ugettext(value)
    if isinstance(value, date):
        return format_date(value)
    return value


class SitthiError(Exception):
    status = 400

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def translated(self) -> str:
        return translate(self.message, self.params)

    def __str__(self) -> str:
        # FAB flashes str(error) from a failed pre_add/pre_update: show it in the user's language.
        return self.translated()


class ValidationFailed(SitthiError, ValueError):
    """Bad input: refused with a clear message, nothing changed."""


class FieldsRefused(ValidationFailed):
    """Several fields of one form refused at once, each with its message: a form shows them all
    at their fields instead of one per submit. `problems`: (field, message, params)."""

    def __init__(self, problems: list[tuple[str, str, dict]]):
        field, message, params = problems[0]
        super().__init__(message, **params)
        self.field, self.problems = field, problems

    def translated(self) -> str:
        return " ".join(translate(message, params) for _field, message, params in self.problems)


class NotAllowed(SitthiError):
    """The user may not do this to this record (wrong role, stage or command)."""

    status = 403


class NotFound(SitthiError):
    """No such record, or not one the user may see: both answer the same, to leak nothing."""

    status = 404


class TooBusy(SitthiError):
    """The user has as much work waiting as one may: wait for some of it to finish."""

    status = 429


class StaleRecord(SitthiError):
    """Someone changed the record since the form was opened: nothing was saved."""

    status = 409
