"""Validation of `POST /api/simulations` bodies (IA-REQ-1).

Every check runs before anything is created, so a refused request starts
nothing. Each check refuses only on its own condition, with the status
IA-REQ-1 gives it (or, for inputs no rule covers, the variant's 400 or 422);
which check comes first is the variant's `check_order`. In the reference
order the type and range checks come first (400), the stakeholder lookup
last (404), as a pydantic model followed by a handler lookup would order them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Set
from dataclasses import dataclass
from typing import Any

from jobcontracts.sims.common import ApiError
from jobcontracts.sims.interrogation.catalog import Catalog
from jobcontracts.sims.interrogation.choices import Choices
from jobcontracts.sims.interrogation.plan import SimulationRequest
from jobcontracts.sims.variant import Variant

MIN_MESSAGES, MAX_MESSAGES = 2, 40
FIELDS = frozenset({"user_input", "stakeholder_id", "stakeholder_profile",
                    "max_interview_messages"})
#: Characters a server may refuse in free text: C0/C1 controls (not tab, LF,
#: CR) and Unicode noncharacters.
ODD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")


@dataclass
class _Checking:
    body: dict[str, Any]
    choices: Choices
    variant: Variant
    catalog: Catalog
    faults: Set[str]

    def refuse(self, status: int, message: str) -> ApiError:
        code = {400: "INVALID_REQUEST", 404: "STAKEHOLDER_NOT_FOUND"}.get(status,
                                                                          "UNPROCESSABLE")
        return ApiError(status, code, self.variant.message(message))

    def text(self, name: str) -> str | None:
        """A string field that may be absent or null; blank counts as not given
        (unless the variant refuses a blank one)."""
        value = self.body.get(name)
        if not isinstance(value, str):
            return None
        if value.strip():
            return value
        if name == "stakeholder_id" and self.choices.blank_stakeholder_id == "unknown":
            return value
        return None

    # ---- the checks, each on its own condition ----------------------------------
    def user_input(self) -> None:
        value = self.body.get("user_input")
        if "user_input" not in self.body:
            raise self.refuse(400, '"user_input" is required')
        if value is None:
            raise self.refuse(self.choices.user_input_null, '"user_input" is required')
        if not isinstance(value, str):
            raise self.refuse(self.choices.wrong_type, '"user_input" must be a string')

    def stakeholder_types(self) -> None:
        for name in ("stakeholder_profile", "stakeholder_id"):
            value = self.body.get(name)
            if value is not None and not isinstance(value, str):
                raise self.refuse(self.choices.wrong_type, f'"{name}" must be a string')

    def limit(self) -> None:
        c = self.choices
        if "max_interview_messages" not in self.body:
            if c.limit_absent is not None:
                raise self.refuse(c.limit_absent, '"max_interview_messages" is required')
            return
        value = self.body["max_interview_messages"]
        if value is None:
            if c.limit_null is not None:
                raise self.refuse(c.limit_null, '"max_interview_messages" must not be null')
            return
        integral = isinstance(value, float) and value.is_integer()
        if integral and c.limit_integral_float is None:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.refuse(400, '"max_interview_messages" must be an integer')
        unbounded = "max-messages-unbounded" in self.faults
        if value < MIN_MESSAGES or (value > MAX_MESSAGES and not unbounded):
            raise self.refuse(400, f'"max_interview_messages" must be between {MIN_MESSAGES} '
                                   f"and {MAX_MESSAGES}, got {value}")

    def stakeholder(self) -> None:
        wins = "stakeholder-id-wins" in self.faults and self.text("stakeholder_id") is not None
        if self.text("stakeholder_profile") is not None and not wins:
            return
        stakeholder_id = self.text("stakeholder_id")
        if stakeholder_id is None:
            if isinstance(self.body.get("stakeholder_id"), str) and (
                    self.choices.blank_stakeholder_id == "422"):
                raise self.refuse(422, '"stakeholder_id" is blank')
            if not isinstance(self.body.get("stakeholder_id"), str | None):
                return  # a mistyped id is stakeholder_types' refusal
            if not isinstance(self.body.get("stakeholder_profile"), str | None):
                return
            raise self.refuse(400, 'provide "stakeholder_id" or "stakeholder_profile"')
        if self.catalog.find(stakeholder_id) is None:
            if "unknown-stakeholder-400" in self.faults:
                raise self.refuse(400, f"invalid stakeholder_id {stakeholder_id!r}")
            raise self.refuse(404, f"no stakeholder {stakeholder_id!r}")

    def unruled(self) -> None:
        c, body = self.choices, self.body
        extra = sorted(set(body) - FIELDS)
        if extra and c.extra_fields is not None:
            raise self.refuse(c.extra_fields, f"unknown field(s): {', '.join(extra)}")
        profile = body.get("stakeholder_profile")
        if isinstance(profile, str) and not profile.strip() and c.blank_profile is not None:
            raise self.refuse(c.blank_profile, '"stakeholder_profile" is blank')
        for name in ("user_input", "stakeholder_profile"):
            value = body.get(name)
            if not isinstance(value, str):
                continue
            if name == "user_input" and not value.strip() and c.blank_text is not None:
                raise self.refuse(c.blank_text, '"user_input" is blank')
            if len(value) > c.long_text_limit and c.long_text is not None:
                raise self.refuse(c.long_text, f'"{name}" is longer than '
                                               f"{c.long_text_limit} characters")
            if ODD_TEXT.search(value) and c.odd_text is not None:
                raise self.refuse(c.odd_text, f'"{name}" holds control characters')


def parse_request(body: dict[str, Any], faults: Set[str], choices: Choices, variant: Variant,
                  catalog: Catalog) -> SimulationRequest:
    """The validated request, or an `ApiError` (400, 404, or 422 where no rule says)."""
    checking = _Checking(body, choices, variant, catalog, faults)
    checks: dict[str, Callable[[], None]] = {
        "user_input": checking.user_input,
        "stakeholder_types": checking.stakeholder_types,
        "limit": checking.limit,
        "stakeholder": checking.stakeholder,
        "unruled": checking.unruled,
    }
    for name in choices.check_order:
        checks[name]()
    limit = body.get("max_interview_messages")
    limit = choices.default_limit if limit is None else int(limit)
    user_input = body["user_input"]
    profile = checking.text("stakeholder_profile")
    if profile is not None:
        return SimulationRequest(user_input, limit, stakeholder_profile=profile)
    stakeholder = catalog.find(checking.text("stakeholder_id") or "")
    assert stakeholder is not None
    return SimulationRequest(user_input, limit, stakeholder=stakeholder)
