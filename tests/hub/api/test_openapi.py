"""The OpenAPI document is valid, generated from the code, and no request makes the API fail
with a 500 (a property-based run with schemathesis)."""

import pytest
from openapi_spec_validator import validate

from hub.api import tokens


def test_openapi_document_validates_and_lists_the_endpoints(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    validate(spec)
    for path in ("/api/v1/me", "/api/v1/tokens", "/api/v1/tokens/{token_id}",
                 "/api/v1/users/{username}"):
        assert path in spec["paths"], path
    assert "Token" in spec["components"]["schemas"]
    assert client.get("/api/v1/openapi.json",
                      headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304


@pytest.fixture
def api_schema(app, db, make_user):
    import schemathesis

    user = make_user(username="prop")
    secret = tokens.create_token(user, "prop", ["read", "write", "submit"]).secret
    from hub import db as hub_db

    hub_db.session().commit()
    with app.test_client() as c:
        raw = c.get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(raw)
    schema.config.update(base_url="http://localhost")
    return schema, secret


def _run_operation(app, op, secret, failures):
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(op.as_strategy())
    def check(case):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}
        response = case.call(app=app)
        if response.status_code >= 500:
            failures.append((op.label, response.status_code, response.text[:200]))

    check()


def test_no_500s_under_generated_requests(app, api_schema):
    schema, secret = api_schema
    failures = []
    for operation in schema.get_all_operations():
        _run_operation(app, operation.ok(), secret, failures)
    assert not failures, failures
