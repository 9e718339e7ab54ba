"""The REST API keeps the contract its own OpenAPI document states, for several roles.

Schemathesis reads /api/v1/_openapi from the app (in process, on a database of this module's
own: its POST and PUT cases write) and sends each operation generated requests with a role's
token (a role without an operation's permission gets one case of it: FAB answers 403 whatever it
is sent), then checks every answer: no 5xx, a status code the document lists, a body that matches the
document's schema for that status, JSON where JSON is promised, and 401 for a missing or bad
token. The requests it generates are bounded (EXAMPLES per operation) to fit in CI.

Not checked: that every schema-valid request is accepted. The document cannot say everything a
request must pass (a national ID's check digit, a unit of the writer's command, a request's
state), so a 400/409/422 for a schema-valid body is a refusal, not a breach of contract.
"""
import os
import re
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from tests.conftest import api_token, build_app, prepare_database

EXAMPLES = int(os.environ.get("SITTHI_CONTRACT_EXAMPLES", "6"))
ROLES = ("officer", "personnel", "commandtech", "centralit")
CHECKS = (
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.ignored_auth,
)


@pytest.fixture(scope="module")
def contract_app(databases):
    application = build_app(databases.new_url("contract"))
    prepare_database(application)
    return application


def _exercise(operation, headers: dict, breaches: Counter, examples: int = EXAMPLES) -> int:
    """Send one operation its generated cases; every breach of the contract is counted."""
    sent = 0

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def exercise(case):
        nonlocal sent
        sent += 1
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except BaseException as failure:  # a group of failures, one per check
            for breach in getattr(failure, "exceptions", None) or [failure]:
                first = str(breach).strip().splitlines()
                breaches[f"{operation.label}: {type(breach).__name__}: {' '.join(first[:3])[:300]}"] += 1

    exercise()
    return sent


def _permitted(app, username: str, method: str, path: str) -> bool:
    """Whether the user's role holds the permission the operation is protected by."""
    from app.extensions import db

    endpoint, _args = app.url_map.bind("localhost").match(re.sub(r"{\w+}", "1", path), method=method)
    view_name, _, name = endpoint.partition(".")
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == view_name)
    permission = getattr(getattr(view, name), "_permission_name", None)
    if permission is None:
        return True
    permission = (view.method_permission_name or {}).get(name, permission)
    with app.app_context():
        user = app.appbuilder.sm.find_user(username=username)
        held = {(pv.permission.name, pv.view_menu.name) for role in user.roles for pv in role.permissions}
        db.session.rollback()
    return (f"can_{permission}", view.class_permission_name) in held


def _run(app, role: str) -> tuple[int, Counter]:
    headers = {"Authorization": f"Bearer {api_token(app.test_client(), role)}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/_openapi", app, headers=headers)
    cases, breaches = 0, Counter()
    for found in schema.get_all_operations():
        operation = found.ok()
        # A role without the permission gets FAB's 403 whatever it sends: one case shows that.
        examples = EXAMPLES if _permitted(app, role, operation.method.upper(), operation.path) else 1
        cases += _exercise(operation, headers, breaches, examples)
    return cases, breaches


@pytest.mark.parametrize("role", ROLES)
def test_the_api_answers_as_its_document_says(contract_app, role, figures):
    cases, breaches = _run(contract_app, role)
    figures(f"schemathesis as {role}", f"{cases} cases, {sum(breaches.values())} violations")
    assert cases >= 50
    assert not breaches, "\n".join(f"{count} x {what}" for what, count in breaches.most_common())


def test_a_bad_token_is_401_with_the_documented_body(contract_app):
    client = contract_app.test_client()
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        response = client.get("/api/v1/officers/1", headers=headers)
        assert response.status_code == 401, headers
        assert set(response.get_json()) == {"message", "field"} and response.get_json()["message"]
    # An access token where a refresh token is due: 401 too (flask-jwt-extended said 422).
    token = api_token(client, "officer")
    response = client.post("/api/v1/security/refresh", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "message" in response.get_json()


def test_the_document_lists_what_every_protected_endpoint_may_answer(contract_app):
    client = contract_app.test_client()
    token = api_token(client, "centralit")
    spec = client.get("/api/v1/_openapi", headers={"Authorization": f"Bearer {token}"}).get_json()
    protected = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()
                 if op.get("security")]
    assert len(protected) >= 15
    for path, method, operation in protected:
        assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
    assert "/api/v1/menu/" not in spec["paths"]  # not served: the screens render their own menu
