"""Free text has a limit everywhere, and the same limit on a screen and in the API (issue 11).

Walks what the app offers rather than a list kept by hand: every string an API body takes (from
the OpenAPI document), every text field of every form class a screen builds (FAB's generated
forms and the hand-written ones), and every field a screen reads with `form_text` (found in the
views' source). The hostile-input tests then post text past those limits to every screen and
operation; this file proves there is no field they could miss and no two limits for one field.
"""
import ast
import importlib
import inspect
import pkgutil

import pytest
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import Length

import app.views
from app.domain.inputs import TEXT_LIMIT
from tests.conftest import api_token

# FAB's own login: its body schema has no maxLength, and app.security.manager refuses a username or
# password longer than any account's before it costs a hash (tested in test_sessions_end).
API_TEXT_WITHOUT_LIMIT = {("/api/v1/security/login", "username"), ("/api/v1/security/login", "password")}
NOT_TEXT_FORMATS = {"date", "date-time", "byte"}


@pytest.fixture(scope="module")
def spec(app):
    client = app.test_client()
    response = client.get("/api/v1/_openapi", headers={"Authorization": f"Bearer {api_token(client, 'admin')}"})
    assert response.status_code == 200
    return response.get_json()


def _api_strings(spec) -> list[tuple[str, str, dict]]:
    """(path, field, schema) of every string any request body takes, nested ones included."""
    schemas = spec["components"]["schemas"]

    def resolve(schema):
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    found = []

    def walk(path, name, schema):
        schema = resolve(schema)
        for key in ("allOf", "anyOf", "oneOf"):
            for part in schema.get(key, []):
                walk(path, name, part)
        if "properties" in schema:
            for field, sub in schema["properties"].items():
                walk(path, field, sub)
        elif schema.get("type") == "array":
            walk(path, name, schema.get("items", {}))
        elif schema.get("type") == "string":
            found.append((path, name, schema))

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch"):
                body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
                if "schema" in body:
                    walk(path, None, body["schema"])
    return found


def _length_limit(validators) -> int | None:
    limits = [v.max for v in validators or () if isinstance(v, Length) and v.max not in (None, -1)]
    return min(limits) if limits else None


def _form_classes(flask_app) -> list[tuple[str, type]]:
    """Every form class a screen keeps values with: FAB's generated add and edit forms of each
    view, and each FlaskForm the views' modules define. (Search boxes keep nothing: their values
    come in the address, where app.input_guard bounds every value and checks it against its column.)"""
    forms = []
    for view in flask_app.appbuilder.baseviews:
        for kind in ("add_form", "edit_form"):
            form = getattr(view, kind, None)
            if isinstance(form, type):
                model = getattr(getattr(view, "datamodel", None), "obj", None)
                forms.append((f"{getattr(model, '__module__', '')}:{type(view).__name__}.{kind}", form))
    for module_info in pkgutil.iter_modules(app.views.__path__):
        module = importlib.import_module(f"app.views.{module_info.name}")
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, FlaskForm) and value.__module__ == module.__name__:
                forms.append((f"{module.__name__}:{name}", value))
    return forms


def _screen_texts(flask_app) -> list[tuple[str, str, int | None]]:
    """(form, field, limit) of every text field of every screen form."""
    texts = []
    for where, form in _form_classes(flask_app):
        for name, unbound in inspect.getmembers(form, lambda v: isinstance(v, UnboundField)):
            if issubclass(unbound.field_class, StringField) and not issubclass(unbound.field_class, PasswordField):
                validators = unbound.kwargs.get("validators") or (unbound.args[1] if len(unbound.args) > 1 else ())
                texts.append((where, name, _length_limit(validators)))
    return texts


def _form_text_reads() -> list[tuple[str, str, int]]:
    """(module, field, limit) of every `form_text("field", LIMIT, ...)` in the views."""
    reads = []
    for module_info in pkgutil.iter_modules(app.views.__path__):
        module = importlib.import_module(f"app.views.{module_info.name}")
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "form_text" \
                    and isinstance(node.args[0], ast.Constant):
                limit = eval(compile(ast.Expression(node.args[1]), module.__file__, "eval"), vars(module))
                reads.append((module.__name__, node.args[0].value, limit))
    return reads


def test_every_text_an_api_body_takes_has_a_limit(spec, figures):
    strings = _api_strings(spec)
    unbounded = [(path, name) for path, name, schema in strings
                 if "maxLength" not in schema and "enum" not in schema
                 and schema.get("format") not in NOT_TEXT_FORMATS and (path, name) not in API_TEXT_WITHOUT_LIMIT]
    assert unbounded == []
    too_long = [(path, name, s["maxLength"]) for path, name, s in strings if s.get("maxLength", 0) > TEXT_LIMIT]
    assert too_long == []
    figures("API text fields with a limit", len(strings))


def test_every_text_a_screen_takes_has_a_limit(app, figures):
    texts = _screen_texts(app)
    reads = _form_text_reads()
    assert [(where, name) for where, name, limit in texts if limit is None] == []
    assert [(where, name, limit) for where, name, limit in texts + reads if limit > TEXT_LIMIT] == []
    assert len(reads) >= 8  # the walk found the hand-read fields (comments, reasons, references)
    figures("screen text fields with a limit", len(texts) + len(reads))


def test_a_field_on_a_screen_and_in_the_api_has_one_limit(app, spec, figures):
    api = {}
    for _path, name, schema in _api_strings(spec):
        if "maxLength" in schema:
            api.setdefault(name, set()).add(schema["maxLength"])
    screens = {}
    for where, name, limit in _screen_texts(app) + _form_text_reads():
        if not where.startswith("flask_appbuilder"):  # FAB's own records (logins) have no API twin
            screens.setdefault(name, set()).add(limit)
    shared = sorted(set(api) & set(screens))
    # A name may name fields of several records (a rank's abbreviation holds 30 characters, a
    # unit's 60): each limit the API gives a name must be one a screen gives it.
    differing = {name: (sorted(screens[name]), sorted(api[name])) for name in shared
                 if not api[name] <= screens[name]}
    assert differing == {}
    # The walk reached the fields both sides write: a request's texts, decisions, officers' records.
    assert {"comment", "agency_reference", "duty_performed", "contact_email", "first_name_th"} <= set(shared)
    figures("fields on screens and in the API with one limit", len(shared))
