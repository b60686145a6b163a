"""Hypothesis strategies for `POST /api/simulations` bodies (IA-REQ-1, IA-REQ-2).

A body is built field by field; each field is left out, valid, or wrong in
one of the ways a client gets it wrong (null, another JSON type, blank, out
of range), and now and then the body carries a field the document does not
declare. `refused` says whether the contract expects a refusal, so that a
live run can keep to bodies that start no paid run.

Many bodies break no rule and follow none either (an empty user_input, an
extra field, a null or missing limit, 8.0): a server may accept them or
refuse them with 400 or 422, and the contract judges them by the generic
rules only (IA-REQ-1's `otherwise_valid`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

#: A field left out of the body.
OMIT: Any = type("Omit", (), {"__repr__": lambda self: "<omitted>"})()

MIN_MESSAGES, MAX_MESSAGES = 2, 40
#: Integers at and around both ends of the document's 2..40.
LIMIT_EDGES = [-1, 0, 1, 2, 3, 39, 40, 41, 42, 10**6, 2**63]
#: Values that are not an integer (an integral float, 8.0, is not among them:
#: is it an integer? JSON Schema says yes, many servers say no; the documents
#: are silent, so `limits()` sends it as an input no rule covers).
NOT_INTEGERS: list[Any] = [True, False, "8", "", 8.5, 2.5, [8], {"value": 8}]
#: Fields the document does not declare (a server may ignore or refuse them).
EXTRA_FIELDS: list[dict[str, Any]] = [{"priority": "high"}, {"stakeholder": "cfo"},
                                      {"metadata": {"source": "test"}}]


def user_inputs() -> st.SearchStrategy[Any]:
    """Any Unicode text (no lone surrogates: JSON cannot carry them as text)."""
    return st.text(st.characters(exclude_categories=["Cs"]), max_size=300)


def _wrong_types() -> st.SearchStrategy[Any]:
    return st.sampled_from([None, 42, True, [], {}, ["x"]])


def limits() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(OMIT),
        st.integers(MIN_MESSAGES, MAX_MESSAGES),
        st.sampled_from(LIMIT_EDGES),
        st.integers(),
        st.sampled_from([None, 8.0, *NOT_INTEGERS]),
    )


@st.composite
def simulation_bodies(draw: st.DrawFn, listed: Sequence[str]) -> dict[str, Any]:
    """A body for POST /api/simulations; `listed` are the catalog's ids."""
    known = st.sampled_from(list(listed)) if listed else st.just("adult_tech_consumer_30_45")
    unknown = st.text(min_size=1, max_size=40).filter(lambda s: s not in listed)
    profile = user_inputs().filter(lambda s: bool(s.strip()))
    user_input = draw(st.one_of(st.just(OMIT), user_inputs(), _wrong_types()))
    shape = draw(st.sampled_from(["listed", "unknown", "profile", "both", "neither", "blank",
                                  "wrong"]))
    fields: dict[str, Any] = {"user_input": user_input}
    if shape in ("listed", "both"):
        fields["stakeholder_id"] = draw(known)
    if shape == "unknown":
        fields["stakeholder_id"] = draw(unknown)
    if shape in ("profile", "both"):
        fields["stakeholder_profile"] = draw(profile)
    if shape == "blank":
        name = draw(st.sampled_from(["stakeholder_id", "stakeholder_profile"]))
        fields[name] = draw(st.sampled_from(["", " ", "\t\n"]))
    if shape == "wrong":
        name = draw(st.sampled_from(["stakeholder_id", "stakeholder_profile"]))
        fields[name] = draw(_wrong_types())
    fields["max_interview_messages"] = draw(limits())
    if draw(st.integers(0, 5)) == 0:
        fields.update(draw(st.sampled_from(EXTRA_FIELDS)))
    return {k: v for k, v in fields.items() if v is not OMIT}


def _limit_is_bad(body: dict[str, Any]) -> bool:
    if "max_interview_messages" not in body or body["max_interview_messages"] is None:
        return False
    value = body["max_interview_messages"]
    integral = isinstance(value, int | float) and not isinstance(value, bool) and (
        float(value).is_integer())
    return not (integral and MIN_MESSAGES <= value <= MAX_MESSAGES)


def refused(body: dict[str, Any], listed: Sequence[str]) -> bool:
    """Does the contract (IA-REQ-1) expect this body to be refused?"""
    if "user_input" not in body or _limit_is_bad(body):
        return True
    if not isinstance(body["user_input"], str):
        return False
    if "stakeholder_id" not in body and "stakeholder_profile" not in body:
        return True
    stakeholder = body.get("stakeholder_id")
    return ("stakeholder_profile" not in body and isinstance(stakeholder, str)
            and stakeholder not in listed and isinstance(body.get("max_interview_messages"),
                                                         int))
