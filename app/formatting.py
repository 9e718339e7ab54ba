"""The one place that turns dates, times and codes into text for people.

Thai readers get the Buddhist Era (24 ก.ค. 2559); English readers the Gregorian year. Every
template and every generated list/show column goes through these functions.
"""
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, has_app_context
from flask_babel import Domain, get_locale
from flask_babel import format_date as babel_format_date

from app.domain.thai_dates import thai_date
from app.errors import catalogue
from app.services.clock import Clock


def current_language() -> str:
    """The reader's language, "th" or "en"; asked for every name and date a page shows."""
    return _for_reader_locale("sitthi_language", lambda locale: locale.language if locale else "th")


def _for_reader_locale(name: str, work):
    """work(the reader's locale), worked out once per app context and locale and kept beside
    Flask-Babel's own choice of locale, so `force_locale` (a block in another language) gets its
    own. Flask-Babel would look the locale up through the request's globals every time."""
    state = g.get("_flask_babel") if has_app_context() else None
    locale = getattr(state, "babel_locale", None) if state is not None else None
    if locale is None:
        locale = get_locale()
        state = g.get("_flask_babel") if has_app_context() else None
        if state is None:
            return work(locale)
    kept = getattr(state, name, None)
    if kept is not None and kept[0] is locale:
        return kept[1]
    value = work(locale)
    setattr(state, name, (locale, value))
    return value


class RequestDomain(Domain):
    """Flask-Babel's message domain, with the catalogue found once per request and language:
    gettext, lazy labels and the templates' _() ask for it a few hundred times a page, and each
    time it named the locale afresh to look the catalogue up."""

    def get_translations(self):
        return _for_reader_locale("sitthi_catalogue", lambda _locale: super(RequestDomain, self).get_translations())


def _local(value: datetime) -> datetime:
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Bangkok"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def office_clock() -> Clock:
    """The clock a web request hands to the services: now, and the office's today of it."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Bangkok"))
    return Clock.at(datetime.now(UTC), zone)


def local_today() -> date:
    """Today in the office's time zone: due dates and activation dates are Bangkok days."""
    return office_clock().today


def localized(obj, attribute: str = "name") -> str:
    """obj.name_th for Thai readers, obj.name_en (falling back to Thai) for English ones."""
    if obj is None:
        return ""
    thai = getattr(obj, f"{attribute}_th", None) or str(obj)
    if current_language() == "th":
        return thai
    return getattr(obj, f"{attribute}_en", None) or thai


def name_in_reader_language(obj) -> str:
    """A catalogue row (unit, rank, source, function, ...) as a list names it: as it always reads
    in Thai, by its English name in English when it has one."""
    if obj is None:
        return ""
    if current_language() != "th" and getattr(obj, "name_en", None):
        return obj.name_en
    return str(obj)


def format_date(value: date | datetime | None, style: str = "short") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    if current_language() == "th":
        return thai_date(value, style)
    return babel_format_date(value, "d MMMM y" if style == "long" else "d MMM y")


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = _local(value)
    return f"{format_date(local.date())} {local:%H:%M}"


def position_at(title: str | None, unit) -> str:
    """A position and its unit, the unit once: titles often name it already
    ("รอง สว.(สืบสวน) สภ.เมืองขอนแก่น"), and printing it again read as a mistake."""
    title = (title or "").strip()
    if unit is None:
        return title
    names = {n for n in (getattr(unit, "abbr_th", None), getattr(unit, "name_th", None), str(unit)) if n}
    if any(name in title for name in names):
        return title
    return f"{title} {unit}".strip()


def answer_text(answer) -> str:
    """An answer to a justification question as its reader reads it: a date in their calendar."""
    question = answer.question
    if question is not None and question.answer_kind == "date":
        try:
            return format_date(date.fromisoformat(answer.value))
        except ValueError:
            return answer.value
    return answer.value


def register(app: Flask) -> None:
    babel = app.extensions["babel"]
    babel.instance.domain_instance = RequestDomain(domain=babel.default_domain)
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["answer_text"] = answer_text
    app.jinja_env.globals["position_at"] = position_at
    app.jinja_env.filters["fdate"] = format_date
    app.jinja_env.filters["fdatetime"] = format_datetime
    app.jinja_env.filters["localized"] = localized
    # A page translates a few hundred strings (menus, buttons of every row): the catalogue is
    # looked up once per request, not once per string.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )

