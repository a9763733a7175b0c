"""Every route the OpenAPI schema describes, fuzzed by schemathesis against the app itself.

The operations come from the schema the server serves (`/api/schema/`), so a route that lands
is fuzzed without this file changing. Each operation gets a few generated requests (valid and
invalid data, derandomized so a run is repeatable), without a token and with a valid one, and
every answer must:
- not be a 5xx;
- have a status code, content type, headers and body the schema documents for it;
- if it is an error, come in its family's envelope (config/families.py decides the family).
The test settings point every AI task at the offline provider: no request leaves the machine.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import tokens_for_user
from config.families import ASSISTANT, GAME, MOVIE, family_for_path
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ENVELOPE_KEYS = {
    GAME: {"error"},
    ASSISTANT: {"statusCode", "statusMessage"},
    MOVIE: {"success", "error", "requestId", "timestamp"},
}
# Hypothesis's generated examples only: the coverage phase's many boundary cases per
# operation would make this run minutes long.
CONFIG = SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}}
)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def load_schema():
    """The schema `/api/schema/` serves, built in-process at collection (it needs no
    database), with requests going to the WSGI application."""
    import json

    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(
        json.loads(OpenApiJsonRenderer().render(document)), config=CONFIG
    )
    loaded.app = get_wsgi_application()
    return loaded


schema = load_schema()


def check_envelope(case, response) -> None:
    """An error answers in its family's body, whatever the route."""
    if response.status_code < 400:
        return
    family = family_for_path(case.formatted_path)
    assert family in ENVELOPE_KEYS, case.formatted_path
    body = response.json()
    assert isinstance(body, dict) and set(body) == ENVELOPE_KEYS[family], (
        case.method,
        case.formatted_path,
        response.status_code,
        body,
    )
    if family == MOVIE:
        assert body["success"] is False and {"code", "message", "details"} <= set(body["error"])
    if family == ASSISTANT:
        assert body["statusCode"] == response.status_code


def call_and_check(case, headers: dict | None = None) -> None:
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS)
    check_envelope(case, response)


@schema.parametrize()
@FUZZ
def test_every_route_without_a_token(case):
    call_and_check(case)


@pytest.fixture
def bearer(transactional_db) -> dict:
    return {"Authorization": f"Bearer {tokens_for_user(user=UserFactory()).access}"}


@schema.parametrize()
@FUZZ
def test_every_route_with_a_token(case, bearer):
    call_and_check(case, headers=bearer)
