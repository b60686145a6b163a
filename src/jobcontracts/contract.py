"""The typed contract: endpoints, records, state machines and rules.

A contract is data (`contracts/*.yaml`); `loader.load_contract` turns a file
into these models and reports any mistake with its file and line. A rule is a
list of checks; each check is an instance of a registered rule kind
(`jobcontracts.oracles`), whose params model validates it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from .trace import PathTemplate

RULE_ID = re.compile(r"^[A-Z]+(-[A-Z]+)+-\d+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Answer(Strict):
    """One documented answer of an endpoint, for the OpenAPI export.

    `schema` is a JSON Schema (it may `$ref` `#/components/schemas/<name>`
    of the contract's `schemas`); no schema means no body is promised."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    media: str = "application/json"
    headers: list[str] = []
    """Response headers the answer carries (e.g. `Location`, `Retry-After`)."""
    description: str = ""


class Endpoint(Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    paid: bool = False
    request: dict[str, Any] | None = None
    """JSON Schema of the request body, if the endpoint takes one: of the JSON
    body, or for another `request_media` of its form (what the OpenAPI export
    documents and fuzzers send; the rules read such a body themselves)."""
    request_media: Literal["application/json", "multipart/form-data"] = "application/json"
    headers: dict[str, dict[str, Any]] = {}
    """Request headers the endpoint reads, each with a JSON Schema (`Idempotency-Key`)."""
    answers: dict[str, Answer] = {}
    """Status (`"200"`, `"4XX"`) → what the endpoint answers: for the OpenAPI export."""
    streams: bool = False
    """The answer is a stream (server-sent events): fuzzers leave it to the stream rules."""
    """Creating through this endpoint costs the user money (a live run budgets it)."""
    source: Literal["document", "assumed"] = "document"
    """`assumed` when the API's document does not have this endpoint and
    CONTRACT-DEFAULTS supplies it."""

    @field_validator("path")
    @classmethod
    def _template(cls, value: str) -> str:
        PathTemplate(value)
        return value

    @property
    def template(self) -> PathTemplate:
        return _template(self.path)


_TEMPLATES: dict[str, PathTemplate] = {}


def _template(path: str) -> PathTemplate:
    if path not in _TEMPLATES:
        _TEMPLATES[path] = PathTemplate(path)
    return _TEMPLATES[path]


class Record(Strict):
    """A JSON object shape observed in answers, grouped into one resource by `key`.

    `key` names a body field (`id`) or, in braces, a path parameter
    (`{generation_id}`) for answers that do not carry their own id; without a
    key, the answer is the one resource at its path (a listing)."""

    sources: list[str] = Field(min_length=1)
    """`endpoint@status` names: the answers that show this record."""
    key: str | None = None


class Machine(Strict):
    record: str
    field: str
    initial: list[str] = Field(min_length=1)
    terminal: list[str] = []
    transitions: dict[str, list[str]]

    def states(self) -> set[str]:
        found = set(self.initial) | set(self.terminal) | set(self.transitions)
        for targets in self.transitions.values():
            found |= set(targets)
        return found

    def reachable(self, start: str) -> set[str]:
        """Every state reachable from `start` in one or more moves."""
        seen: set[str] = set()
        todo = list(self.transitions.get(start, []))
        while todo:
            state = todo.pop()
            if state not in seen:
                seen.add(state)
                todo.extend(self.transitions.get(state, []))
        return seen


class Check(BaseModel):
    """One instance of a rule kind. Params are validated against the kind."""

    model_config = ConfigDict(extra="allow", frozen=True)
    kind: str

    @property
    def raw_params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Rule(Strict):
    id: str
    source: Literal["document", "assumed"]
    description: str = Field(min_length=1)
    checks: list[Check] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _rule_id(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError(f"rule id {value!r} is not of the form AB-CD-1")
        return value


class Target(Strict):
    """How a live run finds the server: environment variable names.

    An API without authentication says `key_env: null` (and `auth_header:
    null`); both are then the empty string, and a live run needs only the URL."""

    url_env: str
    key_env: str
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    simulator: str

    @field_validator("key_env", "auth_header", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @property
    def authenticated(self) -> bool:
        return bool(self.key_env and self.auth_header)


class Contract(Strict):
    api: str
    title: str
    document: str
    target: Target
    endpoints: dict[str, Endpoint]
    records: dict[str, Record] = {}
    machines: dict[str, Machine] = {}
    settings: dict[str, Any] = {}
    reached_with: dict[str, list[str]] = {}
    """Live-run option → the rules a live run reaches only when it is above 0."""
    notes: list[str] = []
    """What a run's summary says about the documents (an inconsistency found in
    one), never a failure."""
    schemas: dict[str, dict[str, Any]] = {}
    """Named JSON Schemas that `answers` and `request` `$ref`, exported as components."""
    rules: list[Rule] = Field(min_length=1)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @property
    def base_dir(self) -> Path:
        """The directory of the contract file: files a rule names are relative to it."""
        return self._base_dir

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"{self.api} has no rule {rule_id!r}")

    def endpoint_ref(self, ref: str) -> tuple[Endpoint, int | None]:
        """`get_generation@200` → (the endpoint, 200); `get_generation` → (…, None)."""
        name, _, status = ref.partition("@")
        return self.endpoints[name], int(status) if status else None
