"""The OpenAPI schema is valid and complete, and the docs page needs nothing from the internet."""
import re

import pytest
from drf_spectacular.validation import validate_schema

from servicedesk.roles import Role

pytestmark = pytest.mark.django_db

RESOURCES = {
    "/api/v1/customers/": {"get"},
    "/api/v1/customers/{id}/": {"get"},
    "/api/v1/subscriptions/": {"get"},
    "/api/v1/subscriptions/{id}/": {"get"},
    "/api/v1/contacts/": {"get", "post"},
    "/api/v1/contacts/{id}/": {"get"},
    "/api/v1/scripts/": {"get"},
    "/api/v1/scripts/{id}/": {"get"},
}



@pytest.fixture
def schema(api_for):
    response = api_for(Role.API_CLIENT).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_schema_is_valid_openapi_3(schema):
    # then it is OpenAPI 3 and passes the OpenAPI 3.0 JSON schema (raises on any error)
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_schema_lists_the_four_resources_and_only_their_offered_methods(schema):
    methods = {
        path: {m for m in ops if m in {"get", "post", "put", "patch", "delete"}}
        for path, ops in schema["paths"].items()
        if path.startswith("/api/v1/")
    }

    for path, offered in RESOURCES.items():
        assert methods.get(path) == offered, (path, methods.get(path))


def test_schema_documents_filters_and_the_idempotency_header(schema):
    def params(path, method):
        return {(p["in"], p["name"]) for p in schema["paths"][path][method].get("parameters", [])}

    assert {("query", "service_number"), ("query", "id_number"), ("query", "name"), ("query", "page_size")} <= params(
        "/api/v1/customers/", "get"
    )
    assert ("header", "Idempotency-Key") in params("/api/v1/contacts/", "post")
    assert {("query", "q"), ("query", "kind"), ("query", "category")} <= params("/api/v1/scripts/", "get")
    assert {"201"} <= set(schema["paths"]["/api/v1/contacts/"]["post"]["responses"])


def test_schema_says_how_to_authenticate(schema):
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("type") == "apiKey" and s.get("name") == "Authorization" for s in schemes.values()), schemes


def test_schema_yaml_is_served_by_default(api_for):
    response = api_for(Role.AGENT).get("/api/schema/")

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_role_may_read_the_schema_and_docs(api_for, role):
    client = api_for(role)

    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_docs_page_loads_its_assets_from_the_app_itself(client, api_for):
    # given the Swagger UI page
    response = api_for(Role.AGENT).get("/api/docs/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "SwaggerUIBundle" in html

    # then no absolute URL points anywhere else (a CDN would be unreachable from the call centre's network)
    external = [u for u in re.findall(r"(?:https?:)?//[^\s\"'<>)]+", html) if "testserver" not in u]
    assert external == []

    # and the scripts and styles it names are served by the app
    assets = re.findall(r"""(?:src|href)=["'](/[^"']+\.(?:js|css))["']""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith(".css") for a in assets), assets
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content])
    assert 'url: "/api/schema/"' in html
