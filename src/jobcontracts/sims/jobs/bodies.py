"""Reading request bodies and query strings: what each endpoint accepts.

Every refusal is an `ApiError`. The codes CONTRACT-DEFAULTS fixes are fixed
here (`400` for an empty `file_ids`, a missing or unknown `processor_type`,
a missing or empty `goal_text`, an unknown quota tool, `max_iterations < 1`);
what nobody rules on (a field of the wrong JSON type, unknown keys, a goal
without `file_ids`) is the variant's (`JobsChoices`).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Any

import httpx

from jobcontracts.sims.common import ApiError, BodyError, parse_json_object
from jobcontracts.sims.jobs.billing import MAX_ITERATIONS, TOOL_COSTS
from jobcontracts.sims.jobs.choices import JobsChoices
from jobcontracts.sims.jobs.convert import PROCESSORS

INVALID = "invalid_request"


def json_body(request: httpx.Request, *, allow_empty: bool = False) -> dict[str, Any]:
    try:
        return parse_json_object(request.content, allow_empty=allow_empty)
    except BodyError as exc:
        raise ApiError(400, INVALID, str(exc)) from None


def refuse_extra(body: dict[str, Any], known: tuple[str, ...], choices: JobsChoices) -> None:
    extra = sorted(key for key in body if key not in known)
    if extra and choices.extra_fields is not None:
        raise ApiError(choices.extra_fields, INVALID,
                       f"unexpected field(s): {', '.join(extra)[:80]}")


def string_list(body: dict[str, Any], name: str, choices: JobsChoices) -> list[str] | None:
    """The body's list of strings `name`; None when it is absent."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(choices.invalid_type_status, INVALID, f"{name} must be a list of strings")
    return value


def as_string_list(value: Any) -> list[str] | None:
    """`value` if it is a list of strings (for look-ups made before validation)."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


@dataclass(frozen=True)
class ConvertBody:
    file_ids: list[str]
    processor_type: str


def convert_body(body: dict[str, Any], choices: JobsChoices, faults: Set[str]) -> ConvertBody:
    file_ids = string_list(body, "file_ids", choices)
    if file_ids is None:
        raise ApiError(400, INVALID, "file_ids is required")
    if not file_ids and "empty-file-ids-accepted" not in faults:
        raise ApiError(400, INVALID, "file_ids must name at least one file")
    processor = body.get("processor_type")
    if not isinstance(processor, str) or processor not in PROCESSORS:
        shown = "missing" if processor is None else repr(processor)[:40]
        raise ApiError(400, INVALID, f"processor_type is {shown}; one of "
                       f"{', '.join(PROCESSORS)} is required")
    refuse_extra(body, ("file_ids", "processor_type"), choices)
    return ConvertBody(file_ids, processor)


@dataclass(frozen=True)
class GoalBody:
    goal_text: str | None
    file_ids: list[str]
    workflow_id: str | None


def goal_body(body: dict[str, Any], choices: JobsChoices, faults: Set[str]) -> GoalBody:
    text = body.get("goal_text")
    if text is not None and not isinstance(text, str):
        raise ApiError(choices.invalid_type_status, INVALID, "goal_text must be a string")
    if not text and "empty-goal-accepted" not in faults:
        raise ApiError(400, INVALID, "goal_text is required and must not be empty")
    file_ids = string_list(body, "file_ids", choices)
    if file_ids is None:
        if choices.missing_file_ids is not None:
            raise ApiError(choices.missing_file_ids, INVALID, "file_ids is required")
        file_ids = []
    workflow_id = body.get("workflow_id")
    if workflow_id is not None and not isinstance(workflow_id, str):
        raise ApiError(choices.invalid_type_status, INVALID, "workflow_id must be a string")
    refuse_extra(body, ("goal_text", "file_ids", "workflow_id"), choices)
    return GoalBody(text, file_ids, workflow_id)


def patch_body(body: dict[str, Any], choices: JobsChoices) -> tuple[int, dict[str, Any]]:
    """(item_version, the changes) of a workflow PATCH."""
    version = body.get("item_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ApiError(400, INVALID, "item_version (an integer) is required")
    changes: dict[str, Any] = {}
    if "name" in body:
        if not isinstance(body["name"], str) or not body["name"].strip():
            raise ApiError(choices.invalid_type_status, INVALID, "name must be a non-empty string")
        changes["name"] = body["name"]
    if "description" in body:
        if body["description"] is not None and not isinstance(body["description"], str):
            raise ApiError(choices.invalid_type_status, INVALID,
                           "description must be a string or null")
        changes["description"] = body["description"]
    if "tags" in body:
        tags = as_string_list(body["tags"])
        if tags is None:
            raise ApiError(choices.invalid_type_status, INVALID, "tags must be a list of strings")
        changes["tags"] = tags
    refuse_extra(body, ("item_version", "name", "description", "tags"), choices)
    return version, changes


def search_params(params: httpx.QueryParams, choices: JobsChoices) -> tuple[str, str | None, int]:
    """(q, cursor, limit) of a workflow search."""
    raw = params.get("limit")
    limit = choices.page_size
    if raw is not None and raw != "":
        if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
            raise ApiError(400, INVALID, f"limit {raw[:20]!r} is not a whole number >= 1")
        limit = int(raw)
        if limit > choices.max_page_size:
            if choices.oversized_limit == "refuse":
                raise ApiError(400, INVALID, f"limit is at most {choices.max_page_size}")
            limit = choices.max_page_size
    return params.get("q", ""), params.get("cursor") or None, limit


def quota_params(params: httpx.QueryParams) -> tuple[list[str], int]:
    """(tools, max_iterations) of a quota request."""
    tools = [tool.strip() for tool in params.get("tools", "").split(",") if tool.strip()]
    unknown = [tool for tool in tools if tool not in TOOL_COSTS]
    if unknown:
        raise ApiError(400, INVALID, f"unknown tool(s): {', '.join(unknown)[:80]}; known: "
                       f"{', '.join(TOOL_COSTS)}")
    raw = params.get("max_iterations", "1").strip()
    digits = raw.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
        raise ApiError(400, INVALID, f"max_iterations {raw[:20]!r} is not an integer")
    iterations = int(raw)
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise ApiError(400, INVALID, f"max_iterations must be between 1 and {MAX_ITERATIONS}")
    return tools, iterations
