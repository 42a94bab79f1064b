"""Schemathesis against the service's own OpenAPI document, with a store and real keys.

* Any input (valid or not by the schema): never a 5xx, and status codes, content types and
  response bodies as documented.
* Valid input by the schema (positive data): accepted. The lifecycle operations must pass
  schemathesis's own ``positive_data_acceptance``. The split operations also check what no
  JSON schema can say (SKUs in the catalog, payments adding up, ...), so a 422 there is
  accepted only if the pydantic model itself accepts the body: the schema is never looser
  than the field validation.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from service_auth import AUTH, config  # noqa: E402

from ordersplit.models.request import SplitRequest  # noqa: E402
from ordersplit.service.allocate import AllocateRequest  # noqa: E402
from ordersplit.service.app import create_app  # noqa: E402

STORE = Path(tempfile.mkdtemp(prefix="ordersplit-fuzz-")) / "orders.db"
# generous grace and queue wait: this checks input handling, not budgets, and must not
# see a timeout 503 on a loaded machine
APP = create_app(config(workers=2, max_time_limit_ms=200, max_inflight=64, grace_ms=30_000,
                        max_queue_wait_ms=60_000, store_url=f"sqlite:///{STORE}"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, headers=AUTH)
positive = schemathesis.openapi.from_asgi("/openapi.json", APP, headers=AUTH)
positive.config.generation.update(modes=[GenerationMode.POSITIVE])
CROSS_FIELD: dict[str, Any] = {"/v1/split": SplitRequest, "/v1/presplit": SplitRequest,
                               "/v1/allocate": AllocateRequest}


def no_5xx(ctx: Any, response: Any, case: Any) -> bool | None:
    """Bad input is a 4xx; nothing here saturates or times out, so no 5xx at all."""
    assert response.status_code < 500, \
        f"{response.status_code} on {case.method} {case.path}: {response.text[:300]}"
    return None


def valid_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """Positive data is accepted; on the split operations a 422 must come from a check
    across fields, never from a field the schema allowed."""
    model = CROSS_FIELD.get(case.path)
    if model is not None and response.status_code == 422:
        try:
            model.model_validate(case.body)
        except ValidationError as exc:
            meta = case.meta
            raise AssertionError(f"the schema allowed what the model rejects "
                                 f"({meta and meta.generation.mode}, "
                                 f"{meta and meta.phase.name}): {exc}") from None
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [no_5xx, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_on_any_input(case: Any) -> None:
    response = case.call(headers=AUTH)
    case.validate_response(response, checks=CHECKS, excluded_checks=[not_a_server_error])


@positive.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_valid_input_is_accepted(case: Any) -> None:
    response = case.call(headers=AUTH)
    case.validate_response(response, checks=[*CHECKS, valid_data_accepted],
                           excluded_checks=[not_a_server_error])
