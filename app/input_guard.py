"""Input that no screen or API of Sitthi accepts, refused where it enters, before a view reads it.

A hostile fuzz got 93 answers 500 out of the screens and the REST API: NUL bytes PostgreSQL
refuses in text, ids and page numbers past its INTEGER and BIGINT, search values no column can
hold. Rather than each view meeting them on its own, one `before_request` hook refuses them for
every route, FAB's generated and security screens included: 400 with a message in the reader's
language, or 404 for an id in the address that no record can have. Nothing has been read or
written when it answers. It checks

- every name and text value of the address, the query string, the form and the JSON body: no
  control characters but tab, line feed and carriage return, and at most MAX_TEXT characters
  (file content sent as a JSON `*_base64` field is bounded by MAX_CONTENT_LENGTH instead);
- ids in the address (`<pk>`, `<item_id>`, ...) and the `rowid`s of FAB's bulk actions;
- FAB's list arguments: `page_<View>`, `psize_<View>`, and `_flt_<n>_<column>` values that fit
  the column (the same check serves the API's `q`, see `check_list_query`);
- a JSON body the parser can read.

Views read the form through `form_version`, `form_ids` and `form_text`, which refuse the same way,
and FAB-generated forms get the bounds FAB leaves out (`bound_form_input`).
"""
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_appbuilder.fields import QuerySelectField, QuerySelectMultipleField
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import BigInteger, SmallInteger
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)
from wtforms import DateField, DateTimeField, IntegerField, StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from app.date_input import EnteredDateField
from app.domain import national_id
from app.domain.inputs import (
    MAX_INT,
    MAX_TEXT,
    MIN_INT,
    TEXT_LIMIT,
    as_id,
    check_year,
    expected_version,
    has_control_characters,
    whole_number,
)
from app.errors import N_, ValidationFailed, translate
from app.extensions import db
from app.services.officer_search import whole_national_id

MAX_PAGE = 100_000  # a hundred thousand pages in: past the end of any list Sitthi has
MAX_PAGE_SIZE = 100  # the largest page FAB's own menu offers, and the API's
BINARY_SUFFIX = "_base64"
# FAB reads its list arguments with these patterns, anywhere in the argument's name.
PAGE_ARGUMENT, PAGE_SIZE_ARGUMENT = re.compile("page_"), re.compile("psize_")
FILTER_ARGUMENT = re.compile(r"_flt_(\d)_(.*)")
LIST_OPERATORS = ("in", "not_in")

MSG_CONTROL_CHARACTER = N_("“%(name)s” holds a control character (such as NUL) that text cannot contain. "
                           "Nothing was changed.")
MSG_TOO_LONG = N_("“%(name)s” is longer than %(limit)s characters. Nothing was changed.")
MSG_NOT_FOUND = N_("No such page or record, or not one you may see.")
MSG_WRONG_METHOD = N_("This address does not take a %(method)s request.")
MSG_TOO_LARGE = N_("What was sent is larger than the %(megabytes)s MB Sitthi takes at once. Nothing was changed.")
MSG_BAD_ROW = N_("A selected row is not a record. Nothing was changed.")
MSG_BAD_CHOICE = N_("The chosen record does not exist.")
MSG_BAD_PAGE = N_("The page number or page size in the address is out of range.")
MSG_BAD_JSON = N_("The JSON body cannot be read (it is not JSON, or it is nested too deep). Nothing was changed.")
MSG_SEARCH_RECORD = N_("Search “%(name)s” by choosing one of its records.")
MSG_SEARCH_NUMBER = N_("Search “%(name)s” with a whole number from %(min)s to %(max)s.")
MSG_SEARCH_TEXT = N_("Search “%(name)s” with text.")
MSG_SEARCH_LIST = N_("Search “%(name)s” with a list of values.")
MSG_CHOOSE = lazy_gettext("— choose —")
MSG_NOT_SET = lazy_gettext("— none —")
MSG_FORBIDDEN = N_("You may not open this page: it belongs to another role. Ask your command's "
                   "technology staff if you need it.")
MSG_FORM_EXPIRED = N_("The form had expired (your session ended or the page was open too long), so nothing "
                      "was saved. Go back, reload the page and submit again.")
MSG_FORM_NOT_SENT = N_("The form was not sent because your session had ended or the page was open too long. "
                       "Nothing was saved yet.")
MSG_BAD_REQUEST = N_("The request could not be read, so nothing was done. Go back and try again.")
MSG_SERVER_ERROR = N_("Something went wrong on our side and nothing was saved. Please try again; if it "
                      "happens again, tell your command's technology staff the time it happened.")
MSG_SEARCH_NATIONAL_ID = N_("Search “%(name)s” with a valid national ID, all 13 digits.")
MSG_NO_SUCH_SEARCH = N_("“%(name)s” cannot be searched that way.")


class InputRefused(BadRequest):
    """Refused input: 400, a message in the reader's language, and the field at fault if known."""

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__()
        self.message, self.field, self.params = message, field, {"name": field or "", **params}

    @property
    def description(self) -> str:  # what werkzeug and FAB's `safe` show
        return translate(self.message, self.params)


class RecordNotFound(NotFound):
    """An id in the address that no record can have: as "not found" as a record that is not there."""

    field = None

    @property
    def description(self) -> str:
        return translate(MSG_NOT_FOUND)


def register(app: Flask) -> None:
    app.before_request(refuse_hostile_input)
    app.after_request(_login_returns_to_the_form)
    # These, and every 404, 405 and 413 (FAB's own `abort(404)` included), say what happened: JSON
    # on the API, a page in the app's layout on the screens.
    for error in (InputRefused, NotFound, MethodNotAllowed, RequestEntityTooLarge, Forbidden, BadRequest,
                  InternalServerError):
        app.register_error_handler(error, _answer)


def _answer(error: HTTPException):
    if isinstance(error, (InputRefused, RecordNotFound)):
        message, field = error.description, error.field
    elif isinstance(error, MethodNotAllowed):
        message, field = translate(MSG_WRONG_METHOD, {"method": request.method}), None
    elif isinstance(error, RequestEntityTooLarge):
        megabytes = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) / (1024 * 1024)
        message, field = translate(MSG_TOO_LARGE, {"megabytes": f"{megabytes:g}"}), None
    elif isinstance(error, CSRFError):
        form_page = None if _is_api() else _form_page()
        if form_page:
            # Back to the page the form was on, through the login page if the session ended:
            # sitthi-keep.js puts back what was typed and chosen (?restore=1 says this is that return).
            flash(translate(MSG_FORM_NOT_SENT), "warning")
            return redirect(_with_restore(form_page))
        message, field = translate(MSG_FORM_EXPIRED), None
    elif isinstance(error, Forbidden):
        message, field = translate(MSG_FORBIDDEN), None
    elif isinstance(error, InternalServerError):
        db.session.rollback()  # nothing half-written stays behind the apology
        message, field = translate(MSG_SERVER_ERROR), None
    elif isinstance(error, NotFound):
        message, field = translate(MSG_NOT_FOUND), None
    else:
        message, field = translate(MSG_BAD_REQUEST), None
    if _is_api():
        response = jsonify(message=message, field=field)
    else:
        appbuilder = current_app.appbuilder
        if not hasattr(g, "user"):  # refused before FAB's own before_request set it (CSRF checks run first)
            g.user = current_user
        response = make_response(render_template("sitthi/input_refused.html", message=message,
                                                 appbuilder=appbuilder, base_template=appbuilder.base_template,
                                                 back=_same_site_referrer(), code=error.code))
    response.status_code = error.code
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _login_returns_to_the_form(response):
    """A form sent after the session ended is sent to log in with `next` = where it posted (FAB's
    has_access), often an address that only takes POST (/requests/decide/7): after the login it
    answered 405. It returns to the page the form was on instead, to be filled again."""
    if request.method != "POST" or response.status_code not in (301, 302, 303):
        return response
    target = urlsplit(response.headers.get("Location", ""))
    login_path = urlsplit(url_for(current_app.appbuilder.sm.auth_view.__class__.__name__ + ".login")).path
    form_page = _form_page()
    if target.path != login_path or not form_page:
        return response
    query = [(k, v) for k, v in parse_qsl(target.query, keep_blank_values=True) if k != "next"]
    response.headers["Location"] = urlunsplit((target.scheme, target.netloc, target.path,
                                               urlencode([*query, ("next", _with_restore(form_page))]), ""))
    return response


def _form_page() -> str | None:
    """The page of ours a refused POST was sent from (path and query), to open it again."""
    referrer = _same_site_referrer()
    if request.method != "POST" or referrer is None:
        return None
    parts = urlsplit(referrer)
    return urlunsplit(("", "", parts.path, parts.query, ""))


def _with_restore(full_path: str) -> str:
    parts = urlsplit(full_path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "restore"]
    return urlunsplit(("", "", parts.path, urlencode([*query, ("restore", "1")]), ""))


def _same_site_referrer() -> str | None:
    """The page the user came from, to go back to, if it is one of ours."""
    referrer = request.referrer or ""
    return referrer if referrer.startswith(request.host_url) else None


def _is_api() -> bool:
    return request.path.startswith("/api/")


# -- the hook ------------------------------------------------------------------------------------
def refuse_hostile_input() -> None:
    view = _view_of(request.endpoint)
    for name, value in (request.view_args or {}).items():
        if name == "pk" or name.endswith("_id"):
            if as_id(value, _id_limit(view)) is None:
                raise RecordNotFound()
        elif isinstance(value, str):
            _check_text(name, value)
    _check_pairs(request.args)
    if view is not None and not _is_api():
        _check_list_arguments(view)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        _check_pairs(request.form)
        for raw in request.form.getlist("rowid"):  # FAB's bulk actions
            if as_id(raw, _id_limit(view)) is None:
                raise InputRefused(MSG_BAD_ROW, field="rowid")
        if request.is_json:
            _check_json()


def _check_text(name: str, value: str, capped: bool = True) -> None:
    if has_control_characters(value):
        raise InputRefused(MSG_CONTROL_CHARACTER, field=_shown(name))
    if capped and len(value) > MAX_TEXT:
        raise InputRefused(MSG_TOO_LONG, field=_shown(name), limit=f"{MAX_TEXT:,}")


def _shown(name: str) -> str:
    """A name fit to repeat in a message: a refused name is not repeated."""
    return name if len(name) <= 100 and not has_control_characters(name) else "…"


def _check_pairs(pairs) -> None:
    for name, value in pairs.items(multi=True):
        _check_text(name, name)
        _check_text(name, value)


def _check_json() -> None:
    try:
        data = request.get_json(silent=True)  # unreadable JSON is the API's to refuse
    except RecursionError as error:  # not a ValueError: `silent` lets it through
        raise InputRefused(MSG_BAD_JSON) from error
    todo = [("", data)]
    while todo:  # not recursive: the body decides how deep it goes
        path, node = todo.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                _check_text(key, key)
                todo.append((f"{path}.{key}" if path else key, value))
        elif isinstance(node, list):
            todo.extend((f"{path}.{index}", value) for index, value in enumerate(node))
        elif isinstance(node, str):
            _check_text(path, node, capped=not path.endswith(BINARY_SUFFIX))


def _check_list_arguments(view) -> None:
    """FAB's list screens turn these arguments into SQL as they are: only what can be, gets there."""
    datamodel = getattr(view, "datamodel", None)
    for name in request.args:
        values = request.args.getlist(name)
        if PAGE_SIZE_ARGUMENT.search(name) or PAGE_ARGUMENT.search(name):
            low, high = (1, MAX_PAGE_SIZE) if PAGE_SIZE_ARGUMENT.search(name) else (0, MAX_PAGE)
            if any(whole_number(value, low, high) is None for value in values):
                raise InputRefused(MSG_BAD_PAGE, field=_shown(name))
        found = FILTER_ARGUMENT.search(name)
        if found and datamodel is not None:
            column = found.group(2)
            label = (getattr(view, "label_columns", None) or {}).get(column, column)
            check_search(datamodel, column, values, index=int(found.group(1)), label=label)


# -- search values (FAB list screens and the API's `q`) ---------------------------------------------
def check_search(datamodel, column: str, value, *, index: int | None = None, operator: str | None = None,
                 label=None) -> None:
    """Refuse a search value that `column` cannot hold: FAB would hand it to the database as it is.

    `index` is the position of a list screen's filter (`_flt_<index>_<column>`), `operator` the
    API's `opr`. A column FAB does not know is left to FAB, which ignores or refuses it itself.
    """
    if column not in datamodel.get_columns_list():
        return
    shown = label if label is not None else _shown(column)
    filters = datamodel.filter_converter_class(datamodel).convert(column) or []
    if index is not None:
        if index >= len(filters):
            raise InputRefused(MSG_NO_SUCH_SEARCH, field=_shown(column), name=shown)
        operator = filters[index].arg_name
    if operator in LIST_OPERATORS and not isinstance(value, list):
        raise InputRefused(MSG_SEARCH_LIST, field=_shown(column), name=shown)
    # A filter that takes a national ID through a relation (who read this officer) says so itself.
    takes_national_id = any(getattr(f, "takes_national_id", False) and f.arg_name == operator for f in filters)
    for item in value if isinstance(value, list) else [value]:
        _check_search_value(datamodel, column, item, shown, takes_national_id=takes_national_id)


def _check_search_value(datamodel, column: str, item, shown, *, takes_national_id: bool = False) -> None:
    if takes_national_id:
        if not _is_national_id(item):
            raise InputRefused(MSG_SEARCH_NATIONAL_ID, field=_shown(column), name=shown)
    elif datamodel.is_relation(column):
        if as_id(item, _pk_limit(datamodel.get_related_model(column))) is None:
            raise InputRefused(MSG_SEARCH_RECORD, field=_shown(column), name=shown)
    elif datamodel.is_integer(column):
        low, high = _integer_range(datamodel.list_columns[column].type)
        if whole_number(item, low, high) is None:
            raise InputRefused(MSG_SEARCH_NUMBER, field=_shown(column), name=shown, min=f"{low:,}", max=f"{high:,}")
    elif (datamodel.is_string(column) or datamodel.is_text(column)) and not isinstance(item, str):
        raise InputRefused(MSG_SEARCH_TEXT, field=_shown(column), name=shown)


def _is_national_id(value) -> bool:
    digits = None if isinstance(value, bool) else whole_national_id(value)
    try:
        return digits is not None and bool(national_id.validate(digits))
    except ValidationFailed:
        return False


def check_list_query(datamodel, rison_args: dict) -> None:
    """The API's `q`: a page FAB can reach, and filter values their columns can hold."""
    page = rison_args.get("page")
    if page is not None and whole_number(page, 0, MAX_PAGE) is None:
        raise InputRefused(MSG_BAD_PAGE, field="page")
    for search in rison_args.get("filters") or []:
        if isinstance(search, dict) and "col" in search and "value" in search:
            check_search(datamodel, str(search["col"]), search["value"], operator=search.get("opr"))


def _integer_range(column_type) -> tuple[int, int]:
    if isinstance(column_type, BigInteger):
        return -(2**63), 2**63 - 1
    if isinstance(column_type, SmallInteger):
        return -(2**15), 2**15 - 1
    return MIN_INT, MAX_INT


def _pk_limit(model) -> int:
    """The largest id a row of `model` can have (audit events are BIGINT, the rest INTEGER)."""
    key = next(iter(model.__table__.primary_key.columns), None)
    return MAX_INT if key is None else _integer_range(key.type)[1]


def _id_limit(view) -> int:
    datamodel = getattr(view, "datamodel", None)
    return _pk_limit(datamodel.obj) if datamodel is not None and hasattr(datamodel, "obj") else MAX_INT


def _view_of(endpoint: str | None):
    """The FAB view (or API) serving an endpoint, if one does."""
    views = current_app.extensions.get("sitthi_views")
    if views is None:
        views = {view.endpoint: view for view in current_app.appbuilder.baseviews}
        current_app.extensions["sitthi_views"] = views
    return views.get((endpoint or "").partition(".")[0])


# -- FAB's generated forms ----------------------------------------------------------------------------
class _WithinColumn:
    """A number the column can hold, checked first and ending the chain: FAB's `Unique` would look
    99999999999 up next, and PostgreSQL refuses to compare it with an INTEGER."""

    def __init__(self, column_range: tuple[int, int]):
        self.range = NumberRange(min=column_range[0], max=column_range[1])

    def __call__(self, form, field) -> None:
        if field.data is None:  # not a number at all: the field says so itself
            return
        try:
            self.range(form, field)
        except ValidationError as error:
            raise StopValidation(error.args[0]) from error


class _ChosenOnly(QuerySelectMultipleField):
    """FAB's multiple select judges its value before reading it, so a value that is not among its
    choices was dropped, not refused: one made-up id emptied a user's groups."""

    def pre_validate(self, form) -> None:
        self.data  # noqa: B018  (reading it marks what is not a choice)
        super().pre_validate(form)


def bound_form_input(form_class, search: bool = False) -> None:
    """Give each text, number and multiple-select field of a FAB-generated form the bound of what
    stores it. FAB bounds a String(n) field by its length and nothing else: a Text field took
    100,000 characters (the API takes TEXT_LIMIT), an Integer field 99999999999."""
    if form_class is None:
        return
    for name, unbound in list(vars(form_class).items()):
        if not isinstance(unbound, UnboundField):
            continue
        field_class, validators = unbound.field_class, list(unbound.kwargs.get("validators") or [])
        kwargs = dict(unbound.kwargs)
        if issubclass(field_class, StringField) and not any(isinstance(v, Length) for v in validators):
            validators.append(Length(max=TEXT_LIMIT))
        elif issubclass(field_class, IntegerField) and not any(isinstance(v, _WithinColumn) for v in validators):
            validators.insert(0, _WithinColumn((MIN_INT, MAX_INT)))
        elif field_class is QuerySelectMultipleField:
            field_class = _ChosenOnly
        elif field_class is QuerySelectField and not kwargs.get("blank_text"):
            # FAB's blank option read "__None", and a required one had none: the form opened on
            # the first row (a new officer was พล.ต.อ.). A blank that says what it is, and the
            # field's own "required" message if it is left so.
            required = any(isinstance(v, (DataRequired, InputRequired)) for v in validators)
            kwargs.update(allow_blank=True, blank_text=MSG_CHOOSE if required or search else MSG_NOT_SET)
            if required:
                validators = [v for v in validators if not isinstance(v, Optional)]
        elif field_class is DateField:
            # FAB's picker spoke Gregorian English only; one date field everywhere (date_input)
            field_class = EnteredDateField
            kwargs.pop("widget", None)
            if not any(isinstance(v, SaneYear) for v in validators):
                validators.append(SaneYear())
        elif issubclass(field_class, DateTimeField) and search:
            # a moment is searched by its day (datamodel's MomentOnDay and kin), in the same field
            field_class = EnteredDateField
            kwargs.pop("widget", None)
            kwargs["default"] = None  # not the column's "now" as a filter's starting value
            validators = [v for v in validators if not isinstance(v, (DataRequired, InputRequired))]
        elif issubclass(field_class, DateTimeField) and not any(isinstance(v, SaneYear) for v in validators):
            validators.append(SaneYear())
        else:
            continue
        bounded = UnboundField(field_class, *unbound.args, **{**kwargs, "validators": validators})
        bounded.creation_counter = unbound.creation_counter  # the field keeps its place in the form
        setattr(form_class, name, bounded)


class SaneYear:
    """A date within the years Sitthi keeps; a Buddhist-Era year typed as Gregorian is named so.
    FAB-generated forms get it from bound_form_input; hand-written forms list it themselves."""

    def __call__(self, _form, field) -> None:
        try:
            check_year(field.data)
        except ValidationFailed as error:
            raise ValidationError(error.translated()) from None


def is_bulk_action(view, name: str | None) -> bool:
    """Whether FAB's `action_post` can run `name` on a view: it fails on anything but a bulk action."""
    action = view.actions.get(name) if name else None
    return action is not None and bool(action.multiple)


# -- what views read from a form ---------------------------------------------------------------------
def form_version(name: str = "version") -> int | None:
    """The version a form sent back (None if it sent none); anything but a whole number is refused."""
    try:
        return expected_version(request.form.get(name))
    except ValidationFailed as error:
        raise InputRefused(error.message, field=name) from error


def form_ids(name: str) -> tuple[int, ...]:
    """The records chosen in a form field (ticked boxes, a select); a value no record can be is refused."""
    chosen = []
    for raw in request.form.getlist(name):
        if raw == "":
            continue
        pk = as_id(raw)
        if pk is None:
            raise InputRefused(MSG_BAD_CHOICE, field=name)
        chosen.append(pk)
    return tuple(chosen)


def form_id(name: str) -> int | None:
    chosen = form_ids(name)
    return chosen[0] if chosen else None


def form_text(name: str, limit: int, label: str | None = None) -> str:
    """A free-text field of at most `limit` characters (the hook has refused control characters)."""
    value = request.form.get(name, "")
    if len(value) > limit:
        raise InputRefused(MSG_TOO_LONG, field=name, name=label or name, limit=f"{limit:,}")
    return value
