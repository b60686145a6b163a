"""Every contract as an OpenAPI 3.1 document: `jobcontracts openapi NAME`.

A contract that has a published document (`settings.openapi_document`, as
POS has) exports that document *as published*, plus what the contract adds to
it: the assumed endpoints and the answers the document lacks
(`settings.openapi_assumed_responses`, e.g. the assumed `401`). Any other
contract is exported from its endpoints: path parameters, request headers and
bodies, and every documented answer with its media type and schema.

The export is what schemathesis fuzzes, so it promises only what the
documents and CONTRACT-DEFAULTS promise: a server that keeps the contract
passes schemathesis's checks against it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from .contract import Contract, Endpoint

_ERROR_REF = "#/components/schemas/Error"


def export(contract: Contract) -> dict[str, Any]:
    published = contract.settings.get("openapi_document")
    if published:
        document = _published(contract, contract.base_dir / str(published))
    else:
        document = {"openapi": "3.1.0",
                    "info": {"title": contract.title, "version": "contract",
                             "description": f"Exported by jobcontracts from the {contract.api} "
                                            f"contract (document: {contract.document})."},
                    "paths": {}, "components": {"schemas": copy.deepcopy(contract.schemas)}}
    components = document.setdefault("components", {})
    security = _security(contract, components)
    for endpoint in contract.endpoints.values():
        operations = document["paths"].setdefault(endpoint.path, {})
        method = endpoint.method.lower()
        if method not in operations:
            operations[method] = _operation(endpoint, security)
    for key, answers in (contract.settings.get("openapi_assumed_responses") or {}).items():
        method, _, path = str(key).partition(" ")
        operation = document["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue
        for status, schema in answers.items():
            operation["responses"].setdefault(str(status), {
                "description": "assumed by CONTRACT-DEFAULTS",
                "content": {"application/json": {"schema": copy.deepcopy(schema)}}})
    return document


def _published(contract: Contract, path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise ValueError(f"{path}: not an OpenAPI document (no paths)")
    return document


def _security(contract: Contract, components: dict[str, Any]) -> list[dict[str, list[str]]]:
    target = contract.target
    if not target.authenticated:
        return []
    schemes = components.setdefault("securitySchemes", {})
    for name, scheme in schemes.items():
        if scheme.get("in") == "header" and scheme.get("name", "").lower() == \
                target.auth_header.lower():
            return [{name: []}]
    if target.auth_header.lower() == "authorization" and target.auth_scheme:
        schemes["apiKey"] = {"type": "http", "scheme": target.auth_scheme.lower()}
    else:
        schemes["apiKey"] = {"type": "apiKey", "in": "header", "name": target.auth_header}
    return [{"apiKey": []}]


def _operation(endpoint: Endpoint, security: list[dict[str, list[str]]]) -> dict[str, Any]:
    operation: dict[str, Any] = {"responses": {}}
    if endpoint.source == "assumed":
        operation["description"] = "Not in the API's document: assumed by CONTRACT-DEFAULTS."
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in endpoint.template.params]
    parameters += [{"name": name, "in": "header", "required": False, "schema": schema}
                   for name, schema in endpoint.headers.items()]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.request is not None:
        operation["requestBody"] = {"required": True, "content": {
            endpoint.request_media: {"schema": copy.deepcopy(endpoint.request)}}}
    if security:
        operation["security"] = copy.deepcopy(security)
    for status, answer in endpoint.answers.items():
        response: dict[str, Any] = {"description": answer.description or f"{status} answer"}
        if answer.schema_ is not None or answer.media != "application/json":
            media: dict[str, Any] = {}
            if answer.schema_ is not None:
                media["schema"] = copy.deepcopy(answer.schema_)
            response["content"] = {answer.media: media}
        if answer.headers:
            response["headers"] = {name: {"schema": {"type": "string"}}
                                   for name in answer.headers}
        operation["responses"][str(status)] = response
    if not operation["responses"]:
        operation["responses"]["default"] = {"description": "not described by the contract"}
    return operation


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
