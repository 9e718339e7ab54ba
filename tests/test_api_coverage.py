"""Every service command has an API operation, and every operation is in the OpenAPI document.

A *service command* is, mechanically: a public function of one of COMMAND_MODULES (defined there,
not imported) whose signature names who acts (`actor`, or a `*_by_id` user) AND the time it acts at
(`clock`, `today` or `now`). Acting for someone at a moment is what changes state (app/services
take time as an input, and the services' reads take none), so a new command cannot be added
without this test seeing it. An operation says which service functions it calls with
`@operation(services=[...])` (app/api/base.py); a command is covered when some registered
operation names it, or is listed in NOT_IN_THE_API with the reason.

To extend: a new module of commands goes in COMMAND_MODULES; a new operation names its service
function in `services=`; a command kept off the API goes in NOT_IN_THE_API with why.
"""
import importlib
import inspect
import re

import pytest
from flask_appbuilder.api import BaseApi

from app.api.base import SitthiApi
from tests.conftest import build_app

COMMAND_MODULES = (
    "app.services.access_requests",
    "app.services.group_requests",
    "app.services.grants",
    "app.services.renewal",
    "app.services.delegations",
    "app.services.deactivation",
    "app.services.reviews",
    "app.services.jobs",
    "app.services.exports",
    "app.services.reference_data",
    "app.services.personnel_changes",
    "app.services.data_changes",
)
# Commands with no operation of their own, each with why (keep the reason when adding one).
NOT_IN_THE_API = {
    # Called by jobs.start_import after the role and command checks (the API's and the screen's way
    # in), and by the CLI's operators: an operation on it would skip those checks.
    "app.services.jobs.create": "the queue's own writer, behind jobs.start_import",
    # Screens only, for now: not part of issue 13's lifecycle (Personnel's and the officer's desks).
    "app.services.personnel_changes.mark_handled": "Personnel's movers-and-leavers desk: screens only for now",
    "app.services.data_changes.ask": "an officer's data-correction request: screens only for now",
    "app.services.data_changes.resolve": "Personnel's answer to a data-correction request: screens only for now",
}
TIME = {"clock", "today", "now"}

PATH_ARGUMENT = re.compile(r"<(?:[a-z]+:)?(\w+)>")


def service_commands() -> dict[str, object]:
    found = {}
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for attribute, function in inspect.getmembers(module, inspect.isfunction):
            if attribute.startswith("_") or function.__module__ != module.__name__:
                continue
            parameters = set(inspect.signature(function).parameters)
            acts = "actor" in parameters or any(p.endswith("_by_id") for p in parameters)
            if acts and parameters & TIME:
                found[f"{name}.{attribute}"] = function
    return found


def _qualified(function) -> str:
    return f"{inspect.unwrap(function).__module__}.{inspect.unwrap(function).__name__}"


@pytest.fixture(scope="module")
def registered():
    """The API classes the app serves (building an app does not touch a database)."""
    application = build_app("sqlite://")
    return application, [view for view in application.appbuilder.baseviews if isinstance(view, BaseApi)]


def _operations(apis) -> dict[str, object]:
    """Every declared operation of the served SitthiApi classes, by "Class.method"."""
    return {f"{type(api).__name__}.{name}": declared for api in apis if isinstance(api, SitthiApi)
            for name, declared in type(api).operations().items()}


def test_the_definition_finds_the_lifecycle_commands():
    """The test would pass on an empty list: these are the commands issue 13 names."""
    commands = set(service_commands())
    for name in ("grants.assign_function", "grants.suspend", "grants.revoke", "grants.extend", "grants.reinstate",
                 "renewal.start_renewal", "delegations.name_deputy", "delegations.cancel_delegation",
                 "deactivation.confirm", "reviews.start_campaign", "reviews.decide", "reviews.sign_off",
                 "jobs.start_import", "access_requests.submit", "access_requests.decide"):
        assert f"app.services.{name}" in commands, name
    # Reads take no time, so they are not commands.
    assert "app.services.grants.load_grant" not in commands
    assert "app.services.reviews.reviewable" not in commands


def test_every_service_command_has_an_api_operation(registered):
    _app, apis = registered
    called = {_qualified(f) for declared in _operations(apis).values() for f in declared.services}
    commands = set(service_commands())
    missing = sorted(commands - called - set(NOT_IN_THE_API))
    assert missing == [], "service commands without an API operation: add one, or list it in NOT_IN_THE_API"
    # The exclusions stay true: each is a command, and none has meanwhile got an operation.
    assert set(NOT_IN_THE_API) <= commands, set(NOT_IN_THE_API) - commands
    assert not set(NOT_IN_THE_API) & called, set(NOT_IN_THE_API) & called
    assert all(reason.strip() for reason in NOT_IN_THE_API.values())


def test_each_operation_names_service_functions_that_exist(registered):
    _app, apis = registered
    for name, declared in _operations(apis).items():
        for function in declared.services:
            module = importlib.import_module(inspect.unwrap(function).__module__)
            assert module.__name__.startswith("app.services"), (name, module.__name__)
            assert getattr(module, inspect.unwrap(function).__name__, None) is not None, name
        if declared.body is not None or declared.status != 200 or "POST" in _methods(apis, name):
            assert declared.services, f"{name} changes state: name the service function it calls"


def _methods(apis, qualified: str) -> set[str]:
    class_name, _, method = qualified.partition(".")
    api = next(a for a in apis if type(a).__name__ == class_name)
    return {m for _url, methods in getattr(getattr(api, method), "_urls", ()) for m in methods}


def _spec(app) -> dict:
    with app.test_request_context():
        view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "OpenApi")
        document = view._create_api_spec("v1")
        for api in app.appbuilder.baseviews:
            if isinstance(api, BaseApi) and api.version == "v1":
                api.add_api_spec(document)
        return document.to_dict()


def _schema_refs(node) -> set[str]:
    text = repr(node)
    return set(re.findall(r"#/components/schemas/([\w.\-{}]+)", text))


def test_every_api_route_is_in_the_openapi_document_with_its_schemas(registered):
    app, _apis = registered
    spec = _spec(app)
    schemas = set(spec["components"]["schemas"])
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/_openapi":
            continue
        path = PATH_ARGUMENT.sub(r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = spec["paths"].get(path, {}).get(method.lower())
            assert operation is not None, f"{method} {path} is served but not in the document"
            if path.startswith("/api/v1/security/"):
                continue  # FAB's login and refresh
            assert operation.get("summary") or operation.get("description"), (method, path)
            answers = {code: answer for code, answer in operation["responses"].items() if code.startswith("2")}
            assert answers, (method, path)
            for answer in answers.values():
                assert answer.get("content"), (method, path, "an answer without its content")
            if method in ("POST", "PUT") and operation.get("requestBody"):
                assert _schema_refs(operation["requestBody"]), (method, path, "a body without its schema")
            missing = _schema_refs(operation) - schemas
            assert not missing, (method, path, missing)
            checked += 1
    assert checked >= 50


def test_every_documented_path_is_served(registered):
    app, _apis = registered
    served = {(PATH_ARGUMENT.sub(r"{\1}", r.rule), m.lower()) for r in app.url_map.iter_rules()
              for m in r.methods - {"HEAD", "OPTIONS"}}
    for path, operations in _spec(app)["paths"].items():
        for method in operations:
            assert (path, method) in served, (method, path)
