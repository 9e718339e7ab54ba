"""Every refusal under /api/v1 is JSON in the documented shape: {"message": ..., "field": ...}.

A client of the API (another agency's system, a script) must never have to parse an HTML page to
learn why it was refused: 400, 401, 403, 404, 405 and 413 each answer JSON with a message here
(409 and 429 in tests/test_api_requests.py and tests/test_rate_limits.py).
"""
import pytest

from tests.conftest import ApiUser

API = "/api/v1"


def _is_documented_error(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json", response.mimetype
    body = response.get_json()
    assert isinstance(body, dict) and body.get("message"), body


@pytest.fixture()
def officer_api(app, api_tokens):
    return ApiUser(app.test_client(), api_tokens("officer"))


def test_401_without_or_with_a_bad_token(app):
    client = app.test_client()
    _is_documented_error(client.get(f"{API}/officers/"), 401)
    _is_documented_error(client.get(f"{API}/officers/", headers={"Authorization": "Bearer x.y.z"}), 401)
    _is_documented_error(client.get(f"{API}/officers/", headers={"Authorization": "Basic abc"}), 401)


def test_403_for_a_role_without_the_permission(officer_api):
    _is_documented_error(officer_api.get(f"{API}/audit-events/"), 403)


def test_404_for_unknown_paths_and_records(officer_api):
    _is_documented_error(officer_api.get(f"{API}/no-such-resource/"), 404)
    _is_documented_error(officer_api.get(f"{API}/requests/{2**40}"), 404)
    _is_documented_error(officer_api.get(f"{API}/requests/99999999"), 404)


def test_405_names_the_methods_allowed(app):
    response = app.test_client().delete(f"{API}/security/login")
    _is_documented_error(response, 405)
    assert "POST" in response.headers["Allow"]


def test_413_for_a_body_over_the_limit(app, officer_api, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = officer_api.post(f"{API}/requests/", data="x" * 4096, content_type="application/json")
    _is_documented_error(response, 413)


def test_400_names_the_fields_of_a_body_that_breaks_the_schema(officer_api):
    response = officer_api.post(f"{API}/requests/", json={"kind": 12, "items": "many"})
    _is_documented_error(response, 400)
    assert response.get_json()["field"] == "kind"


def test_400_for_malformed_json(officer_api):
    response = officer_api.post(f"{API}/requests/", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    _is_documented_error(response, response.status_code)
