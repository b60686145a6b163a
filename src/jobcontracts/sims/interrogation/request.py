"""Validation of `POST /api/simulations` bodies (IA-REQ-1).

Every check runs before anything is created, so a refused request starts
nothing. The type and range checks come first (400), the stakeholder lookup
last (404), as a pydantic model followed by a handler lookup would order them.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from jobcontracts.sims.common import ApiError
from jobcontracts.sims.interrogation import catalog
from jobcontracts.sims.interrogation.plan import SimulationRequest

DEFAULT_MAX_MESSAGES = 8
MIN_MESSAGES, MAX_MESSAGES = 2, 40


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_REQUEST", message)


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    """A string field that may be absent or null; blank counts as not given."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f'"{name}" must be a string')
    return value if value.strip() else None


def parse_request(body: dict[str, Any], faults: Set[str]) -> SimulationRequest:
    """The validated request, or an `ApiError` (400 or 404)."""
    user_input = body.get("user_input")
    if user_input is None:
        raise _invalid('"user_input" is required')
    if not isinstance(user_input, str):
        raise _invalid('"user_input" must be a string')
    profile = _optional_text(body, "stakeholder_profile")
    stakeholder_id = _optional_text(body, "stakeholder_id")
    limit = body.get("max_interview_messages")
    if limit is None:
        limit = DEFAULT_MAX_MESSAGES
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise _invalid('"max_interview_messages" must be an integer')
    unbounded = "max-messages-unbounded" in faults
    if limit < MIN_MESSAGES or (limit > MAX_MESSAGES and not unbounded):
        raise _invalid(
            f'"max_interview_messages" must be between {MIN_MESSAGES} and {MAX_MESSAGES}, '
            f"got {limit}"
        )
    if profile is not None:
        return SimulationRequest(user_input, limit, stakeholder_profile=profile)
    if stakeholder_id is None:
        raise _invalid('provide "stakeholder_id" or "stakeholder_profile"')
    stakeholder = catalog.find(stakeholder_id)
    if stakeholder is None:
        if "unknown-stakeholder-400" in faults:
            raise _invalid(f"invalid stakeholder_id {stakeholder_id!r}")
        raise ApiError(404, "STAKEHOLDER_NOT_FOUND", f"no stakeholder {stakeholder_id!r}")
    return SimulationRequest(user_input, limit, stakeholder=stakeholder)
