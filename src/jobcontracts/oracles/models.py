"""Model rule kinds: every answer is the SDK model its endpoint promises.

The SDK's pydantic models are written as JSON Schemas in the contract's
`schemas` (a strict model says `additionalProperties: false`, an open one
does not; a `Literal` is an `enum`; `X | None` is required and nullable).
A check names, per `endpoint@status`, the schema its answers must match.
Unlike the status-projection kinds, a violation here names the field path
inside the body (`ConvertJob.result_files[0].url: missing`), since one bad
key anywhere is a hard error for every SDK client.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator, ValidationError
from pydantic import Field, model_validator

from ..trace import NOT_JSON, Exchange, Trace
from .context import Context
from .registry import Loc, Params, Verdict, rule_kind

if TYPE_CHECKING:
    from ..contract import Contract

REF_PREFIX = "#/components/schemas/"
_STATUS = re.compile(r"^([1-5])(\d\d|XX)$")
#: How many problems one violation spells out before it says "and N more".
SHOWN = 6


class AnswerModels(Params):
    answers: dict[str, str] = {}
    """`endpoint@status` (a status may be a range, `4XX`) → the name of the
    contract schema its bodies must match."""
    messages: dict[str, str] = {}
    """WebSocket endpoint → the schema each message it sends must match."""

    @model_validator(mode="after")
    def _something(self) -> AnswerModels:
        if not self.answers and not self.messages:
            raise ValueError("give answers, messages or both")
        return self

    def problems(self, contract: Contract) -> Iterator[tuple[Loc, str]]:
        for ref, model in self.answers.items():
            endpoint, _, status = ref.partition("@")
            if endpoint not in contract.endpoints:
                yield ("answers", ref), f"unknown endpoint {endpoint!r}"
            elif not _STATUS.match(status):
                yield ("answers", ref), f"{ref!r} needs @STATUS (200, or a range such as 4XX)"
            if model not in contract.schemas:
                yield ("answers", ref), f"unknown schema {model!r}"
        for endpoint, model in self.messages.items():
            if endpoint not in contract.endpoints:
                yield ("messages", endpoint), f"unknown endpoint {endpoint!r}"
            if model not in contract.schemas:
                yield ("messages", endpoint), f"unknown schema {model!r}"


@dataclass(frozen=True)
class Body:
    """One body a model judges: an answer's, or one WebSocket message's."""

    exchange: Exchange
    model: str
    data: Any
    what: str
    """`the 200 answer`, `message 3`."""


def model_bodies(p: AnswerModels, ctx: Context) -> Iterator[Body]:
    """Every body an `answers` or `messages` entry names, in trace order."""
    found = []
    for ref, model in p.answers.items():
        endpoint, _, status = ref.partition("@")
        for ex, _params in ctx.requests(endpoint):
            if status_matches(ex.status, status):
                found.append(Body(ex, model, ex.json, f"the {ex.status} answer"))
    for endpoint, model in p.messages.items():
        for ex, _params in ctx.requests(endpoint):
            for i, message in enumerate(ex.ws_received):
                found.append(Body(ex, model, message.json, f"message {i + 1}"))
    yield from sorted(found, key=lambda body: body.exchange.seq)


def status_matches(status: int, pattern: str) -> bool:
    if pattern.endswith("XX"):
        return str(status).startswith(pattern[0]) and 100 <= status < 600
    return pattern.isdigit() and status == int(pattern)


def field_path(label: str, parts: Any) -> str:
    """`("result_files", 0, "url")` → `ConvertJob.result_files[0].url`."""
    text = label
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}"
        else:
            text += f"[{part!r}]"
    return text


def short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- model_conformance ---------------------------------------------------------------


@cache
def _validator(schemas_json: str, name: str) -> Draft202012Validator:
    schemas = json.loads(schemas_json)
    return Draft202012Validator({"$ref": REF_PREFIX + name, "components": {"schemas": schemas}})


#: Each contract's schemas as the `_validator` cache key, by the contract's id;
#: the entry keeps its contract alive, so the id is not reused while cached.
_SCHEMAS_JSON: dict[int, tuple[Contract, str]] = {}


def validator_for(contract: Contract, name: str) -> Draft202012Validator:
    entry = _SCHEMAS_JSON.get(id(contract))
    if entry is None or entry[0] is not contract:
        if len(_SCHEMAS_JSON) >= 16:
            _SCHEMAS_JSON.clear()
        entry = _SCHEMAS_JSON[id(contract)] = (
            contract, json.dumps(contract.schemas, sort_keys=True))
    return _validator(entry[1], name)


def model_problems(validator: Draft202012Validator, instance: Any, label: str) -> list[str]:
    """Every way `instance` breaks the model, each naming its field path."""
    found: list[str] = []
    for error in validator.iter_errors(instance):
        found.extend(_explain(error, label))
    return list(dict.fromkeys(found))


def _explain(e: ValidationError, label: str) -> Iterator[str]:
    path = list(e.absolute_path)
    here = field_path(label, path)
    instance = e.instance
    if e.validator in ("anyOf", "oneOf") and e.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in e.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        near = [errs for errs in branches.values() if not _wrong_type_only(errs, e)]
        if not near:
            yield f"{here}: {short(instance)} is not {_alternatives(e.validator_value)}"
        for errs in near:
            for sub in errs:
                yield from _explain(sub, label)
    elif e.validator == "required" and isinstance(instance, Mapping):
        for key in e.validator_value if isinstance(e.validator_value, list) else []:
            if key not in instance:
                yield f"{field_path(label, [*path, key])}: missing"
    elif e.validator == "additionalProperties" and isinstance(instance, Mapping):
        declared = e.schema.get("properties", {}) if isinstance(e.schema, Mapping) else {}
        for key in instance:
            if key not in declared:
                yield f"{field_path(label, [*path, key])}: unexpected key"
    elif e.validator == "type":
        yield f"{here}: {short(instance)} is not {_types(e.validator_value)}"
    elif e.validator == "enum":
        yield f"{here}: {short(instance)} is not one of {e.validator_value}"
    else:
        yield f"{here}: {e.message}"


def _wrong_type_only(errors: list[ValidationError], parent: ValidationError) -> bool:
    """Did this branch of an anyOf fail only because the value is another type?"""
    depth = len(parent.absolute_path)
    return all(err.validator == "type" and len(err.absolute_path) == depth for err in errors)


def _types(value: Any) -> str:
    names = value if isinstance(value, list) else [value]
    return " or ".join("null" if n == "null" else f"a{'n' if str(n)[0] in 'aeiou' else ''} {n}"
                       for n in names)


def _alternatives(branches: Any) -> str:
    names = []
    for branch in branches if isinstance(branches, list) else []:
        if isinstance(branch, Mapping) and isinstance(branch.get("$ref"), str):
            names.append(branch["$ref"].rpartition("/")[2])
        elif isinstance(branch, Mapping) and "type" in branch:
            names.append(_types(branch["type"]))
        else:
            names.append("another shape")
    return " or ".join(names) or "an allowed shape"


@rule_kind("model_conformance", AnswerModels)
def model_conformance(trace: Trace, p: AnswerModels, ctx: Context, verdict: Verdict) -> None:
    """Each named answer's body matches its model: every field present with its
    type, `Literal`s among their values, and no other key on a strict model.
    The violation names each offending field path."""
    for body in model_bodies(p, ctx):
        if body.data is NOT_JSON:
            verdict.violate(f"{body.model}: {body.what} is not JSON", body.exchange)
            continue
        problems = model_problems(validator_for(ctx.contract, body.model), body.data,
                                  body.model)
        if not problems:
            verdict.judged()
            continue
        more = len(problems) - SHOWN
        listed = "; ".join(problems[:SHOWN]) + (f"; and {more} more" if more > 0 else "")
        verdict.violate(f"{body.what} is not a valid {body.model}: {listed}", body.exchange)


# ---- datetime_offsets ----------------------------------------------------------------


class DatetimeOffsets(AnswerModels):
    offsets: list[str] = Field(default=["Z", "+00:00"], min_length=1)
    """The explicit UTC offsets a datetime may end with."""


#: Depth at which a schema that `$ref`s itself without consuming the instance is given up.
_MAX_DEPTH = 64


def datetimes(schema: Any, instance: Any, path: tuple[str | int, ...],
              schemas: Mapping[str, Any], depth: int = 0) -> Iterator[tuple[tuple[str | int, ...],
                                                                            Any]]:
    """Each value of `instance` that `schema` declares `format: date-time`, with its path."""
    if depth > _MAX_DEPTH or not isinstance(schema, Mapping):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        yield from datetimes(schemas.get(ref[len(REF_PREFIX):]), instance, path, schemas,
                             depth + 1)
    if schema.get("format") == "date-time":
        yield path, instance
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or []:
            yield from datetimes(sub, instance, path, schemas, depth + 1)
    if isinstance(instance, Mapping):
        props = schema.get("properties")
        for name, sub in (props.items() if isinstance(props, Mapping) else []):
            if name in instance:
                yield from datetimes(sub, instance[name], (*path, name), schemas, depth + 1)
    items = schema.get("items")
    if isinstance(instance, list) and isinstance(items, Mapping):
        for i, item in enumerate(instance):
            yield from datetimes(items, item, (*path, i), schemas, depth + 1)


def offset_problem(value: Any, offsets: list[str]) -> str | None:
    """Why `value` is not ISO 8601 with one of the explicit UTC `offsets`."""
    if not isinstance(value, str):
        return f"{short(value)} is not an ISO 8601 string"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return f"{short(value)} is not ISO 8601"
    if moment.tzinfo is None:
        return f"{short(value)} has no UTC offset (expected {' or '.join(offsets)})"
    if not any(value.endswith(o) for o in offsets):
        offset = moment.utcoffset()
        zone = "writes UTC another way" if offset is not None and not offset else "is not UTC"
        return f"{short(value)}: its offset {zone} (expected {' or '.join(offsets)})"
    return None


@rule_kind("datetime_offsets", DatetimeOffsets)
def datetime_offsets(trace: Trace, p: DatetimeOffsets, ctx: Context, verdict: Verdict) -> None:
    """Every field a model declares a datetime is an ISO 8601 date and time
    ending in an explicit UTC offset (`Z` or `+00:00`). A body that is not
    JSON is `model_conformance`'s finding; a null is judged by the model."""
    schemas = ctx.contract.schemas
    for body in model_bodies(p, ctx):
        if body.data is NOT_JSON:
            continue
        seen: dict[tuple[str | int, ...], Any] = {}
        for path, value in datetimes({"$ref": REF_PREFIX + body.model}, body.data, (),
                                     schemas):
            seen.setdefault(path, value)
        problems = [f"{field_path(body.model, path)}: {why}" for path, value in seen.items()
                    if value is not None and (why := offset_problem(value, p.offsets))]
        if problems:
            verdict.violate(f"{body.what}: " + "; ".join(problems), body.exchange)
        elif any(value is not None for value in seen.values()):
            verdict.judged()
