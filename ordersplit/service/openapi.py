"""The OpenAPI document: request bodies are read raw, so their schemas are added here.

It also says what the guard enforces: the API key on protected paths (401), JSON bodies
only (415), body size (413).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

REF = "#/components/schemas/{model}"
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API key as a bearer token"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def body_of(model: str) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body is ``model`` (a named component)."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": REF.format(model=model)}}}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": REF.format(model="ErrorResponse")}}}}


def _closed_maps(node: Any) -> None:
    """Maps whose keys have a pattern (ids) allow no other keys, as the validation says."""
    if isinstance(node, dict):
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _closed_maps(value)
    elif isinstance(node, list):
        for value in node:
            _closed_maps(value)


def _guarded(doc: dict[str, Any], protected: Callable[[str], bool] | None) -> None:
    if protected is not None:
        doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            if protected is not None and protected(path):
                op["security"] = [{"bearer": []}, {"apiKey": []}]
                responses.setdefault("401", _error("Missing or invalid API key"))
            if method == "post":
                responses.setdefault("415", _error("Body not sent as application/json"))
                responses.setdefault("413", _error("Body too large"))


def install_openapi(app: FastAPI, models: list[type[BaseModel]],
                    protected: Callable[[str], bool] | None = None) -> None:
    """Make ``app.openapi()`` include ``models`` (and their definitions) as components.

    ``protected(path)``: whether a path needs an API key (``None``: authentication off).
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            schema = model.model_json_schema(ref_template=REF, mode="validation")
            for name, sub in schema.pop("$defs", {}).items():
                schemas.setdefault(name, sub)
            schemas[model.__name__] = schema
        _closed_maps(schemas)
        _guarded(doc, protected)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
