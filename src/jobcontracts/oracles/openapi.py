"""The `openapi_response` rule kind: every answer matches the API's OpenAPI
document, for its path, method and status.

The document is loaded as published. The POS one is not valid OpenAPI 3.1:
one schema name holds spaces and braces, so the `$ref`s naming it are not
URI references. `referencing` resolves such a pointer exactly as written,
so the suite needs no hand-edited copy, and says so here rather than
pretending the document is valid.

Statuses the document lacks but the contract assumes (a `401`, the `202` of
an endpoint the document does not have) come from the `assumed` param: they
are judged like documented ones instead of being reported as undocumented.
A `$ref` in an assumed schema that starts with `#/` points into the document.

`format` is an annotation in JSON Schema 2020-12 (OpenAPI 3.1's dialect):
`format: date-time` is not asserted here.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from pydantic import field_validator
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from ..trace import NOT_JSON, Exchange, PathTemplate, Trace
from .context import Context, judgeable
from .registry import Loc, Params, Verdict, rule_kind

if TYPE_CHECKING:
    from ..contract import Contract

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
STATUS_KEY = re.compile(r"^([1-5][0-9]{2}|[1-5]XX|default)$")
JSON = "application/json"


class OpenApiResponse(Params):
    document: str
    """The OpenAPI document (YAML or JSON), relative to the contract file."""
    assumed: dict[str, dict[str, dict[str, Any]]] = {}
    """`METHOD /path` → status (`401`, `4XX`, `default`) → the JSON schema of
    an `application/json` body, for answers the document does not have."""

    @field_validator("assumed", mode="before")
    @classmethod
    def _status_keys(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {op: {str(status): schema for status, schema in answers.items()}
                    if isinstance(answers, Mapping) else answers
                    for op, answers in value.items()}
        return value

    def path(self, contract: Contract) -> Path:
        return contract.base_dir / self.document

    def problems(self, contract: Contract) -> Iterator[tuple[Loc, str]]:
        try:
            document = _load(str(self.path(contract)))
        except DocumentError as exc:
            yield ("document",), str(exc)
            return
        for op, answers in self.assumed.items():
            method, _, path = op.partition(" ")
            if method.lower() not in METHODS or not path.startswith("/"):
                yield ("assumed", op), f"{op!r} is not of the form 'METHOD /path'"
                continue
            for status, schema in answers.items():
                loc: Loc = ("assumed", op, status)
                if not STATUS_KEY.match(status):
                    yield loc, f"{status!r} is not a status (401, 4XX, default)"
                elif status in document.documented(method, path):
                    yield loc, f"the document already has {status} for {op}; it is not assumed"
                for ref in _refs(schema):
                    if not document.resolves(ref):
                        yield loc, f"$ref {ref!r} resolves to nothing in the document"
                invalid = best_match(Draft202012Validator(Draft202012Validator.META_SCHEMA)
                                     .iter_errors(schema))
                if invalid is not None:
                    yield loc, f"not a JSON schema: {invalid.message}"


class DocumentError(Exception):
    """An OpenAPI document that cannot be read or whose `$ref`s lead nowhere."""


@dataclass(frozen=True)
class Answer:
    """One response of an operation: its media types and the body's validator."""

    media_types: tuple[str, ...]
    validator: Draft202012Validator | None
    assumed: bool


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    template: PathTemplate
    answers: Mapping[str, Answer]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def answer(self, status: int) -> tuple[str, Answer] | None:
        """The response for `status`, as OpenAPI picks it: exact, range, default."""
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in self.answers:
                return key, self.answers[key]
        return None

    def statuses(self) -> str:
        documented = [k for k, a in self.answers.items() if not a.assumed]
        assumed = [k for k, a in self.answers.items() if a.assumed]
        text = f"the document has {', '.join(documented) or 'none'}"
        return text + (f"; the contract assumes {', '.join(assumed)}" if assumed else "")


class Document:
    """A loaded OpenAPI document, its `$ref`s resolved through a registry."""

    def __init__(self, path: Path) -> None:
        self.uri = path.resolve().as_uri()
        try:
            contents = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DocumentError(f"cannot read the OpenAPI document {path}: "
                                f"{exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise DocumentError(f"the OpenAPI document {path} is not YAML: {exc}") from None
        if not isinstance(contents, dict) or not isinstance(contents.get("paths"), dict):
            raise DocumentError(f"the OpenAPI document {path} has no `paths`")
        self.contents: dict[str, Any] = contents
        resource = Resource.from_contents(contents, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(self.uri, resource)
        for ref in _refs(contents):
            if not self.resolves(ref):
                raise DocumentError(f"the OpenAPI document {path}: $ref {ref!r} resolves to "
                                    "nothing")

    def resolves(self, ref: str) -> bool:
        """Does `ref`, read from inside the document, point at something?"""
        try:
            self.registry.resolver(self.uri).lookup(ref)
        except Unresolvable:
            return False
        return True

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(METHOD, path, responses) of every operation in the document."""
        for path, item in self.contents["paths"].items():
            for method, operation in (item or {}).items():
                if method in METHODS and isinstance(operation, dict):
                    yield method.upper(), str(path), operation.get("responses") or {}

    def documented(self, method: str, path: str) -> set[str]:
        return {str(status) for m, p, responses in self.operations()
                if m == method.upper() and p == path for status in responses}

    def validator(self, schema: Any) -> Draft202012Validator:
        """A validator of `schema`, whose `#/…` refs point into this document."""
        return Draft202012Validator(_rebase(schema, self.uri), registry=self.registry)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _rebase(node: Any, uri: str) -> Any:
    if isinstance(node, dict):
        return {k: (uri + v if k == "$ref" and isinstance(v, str) and v.startswith("#")
                    else _rebase(v, uri)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v, uri) for v in node]
    return node


@functools.lru_cache(maxsize=8)
def _load(path: str) -> Document:
    return Document(Path(path))


@functools.lru_cache(maxsize=8)
def _compile(path: str, assumed_json: str) -> tuple[Operation, ...]:
    """The document's operations with the assumed answers added, compiled once."""
    document = _load(path)
    table: dict[tuple[str, str], dict[str, Answer]] = {}
    for method, route, responses in document.operations():
        answers = table.setdefault((method, route), {})
        for status, response in responses.items():
            content = (response or {}).get("content") or {}
            schema = (content.get(JSON) or {}).get("schema")
            answers[str(status)] = Answer(
                tuple(content), None if schema is None else document.validator(schema), False)
    for op, declared in json.loads(assumed_json).items():
        method, _, route = op.partition(" ")
        answers = table.setdefault((method.upper(), route), {})
        for status, schema in declared.items():
            answers.setdefault(status, Answer((JSON,), document.validator(schema), True))
    operations = [Operation(m, r, PathTemplate(r), a) for (m, r), a in table.items()]
    # A literal path wins over a templated one that also matches (OpenAPI's rule).
    return tuple(sorted(operations, key=lambda o: len(o.template.params)))


def _media_ok(content_type: str, declared: tuple[str, ...]) -> bool:
    major = content_type.partition("/")[0]
    return any(m.lower() in (content_type, f"{major}/*", "*/*") for m in declared)


@rule_kind("openapi_response", OpenApiResponse)
def openapi_response(trace: Trace, p: OpenApiResponse, ctx: Context, verdict: Verdict) -> None:
    """Every API answer has a status the document (or `assumed`) gives for its
    path and method, the documented media type, and a body matching the schema.
    A 5xx, a 429 and a missing answer are other rules' findings; a path the
    document does not have is not judged."""
    operations = _compile(str(p.path(ctx.contract)), json.dumps(p.assumed, sort_keys=True))
    for ex in trace:
        if ex.origin != "api" or not judgeable(ex):
            continue
        op = next((o for o in operations
                   if o.method == ex.method and o.template.match(ex.path) is not None), None)
        if op is None:
            continue
        found = op.answer(ex.status)
        if found is None:
            verdict.violate(f"{ex.status} is not a status of {op} ({op.statuses()})", ex)
            continue
        key, answer = found
        problem = _problem(ex, answer) if answer.media_types else None
        if problem is None:
            verdict.judged()
        else:
            where, why = problem
            verdict.violate(f"{why} (the {key} answer of {op})", ex,
                            fields=(where,) if where else ())


def _problem(ex: Exchange, answer: Answer) -> tuple[str, str] | None:
    if not _media_ok(ex.content_type, answer.media_types):
        return "", (f"Content-Type is {ex.header('content-type')!r}, not "
                    f"{' or '.join(answer.media_types)}")
    if answer.validator is None:
        return None
    body = ex.json
    if body is NOT_JSON:
        return "", "the body is not JSON"
    error = best_match(answer.validator.iter_errors(body))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path)
    return where, f"body at {where or 'the top'}: {error.message}"
