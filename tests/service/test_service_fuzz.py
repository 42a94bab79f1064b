"""Schemathesis against the service's own OpenAPI document: no 500 on any input."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ordersplit.service.app import create_app  # noqa: E402
from ordersplit.service.config import ServiceConfig  # noqa: E402

APP = create_app(ServiceConfig(workers=2, pool="thread", max_time_limit_ms=200,
                               max_inflight=64))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


def no_500(ctx: Any, response: Any, case: Any) -> bool | None:
    """501 (no store) and 503 (saturated) are documented answers; 500 never is."""
    assert response.status_code != 500, f"500 on {case.method} {case.path}"
    return None


CHECKS = [no_500, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_on_any_input(case: Any) -> None:
    response = case.call()
    case.validate_response(response, checks=CHECKS,
                           excluded_checks=[not_a_server_error])
