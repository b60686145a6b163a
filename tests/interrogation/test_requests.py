"""IA-REQ-1..3: which bodies start a run, which are refused and how.

Refused bodies cost nothing, live or not; bodies that start a run are paid,
so a live run sends them only from budget the stream tests do not need.

Each refusal IA-REQ-1 rules on is sent once with nothing else wrong (so that
its status is judged), and some also as a server may lawfully refuse for
another reason first (no limit, an empty object: the generic rules judge
those). Inputs no rule covers (`UNRULED`) may be accepted or refused with 400
or 422: the suite asks only that the answer be lawful.
"""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from jobcontracts.drivers.interrogation import PROBLEM
from jobcontracts.strategies_interrogation import NOT_INTEGERS, refused, simulation_bodies

pytestmark = pytest.mark.api("interrogation")

PROFILE = "I am a 40 year old operations manager at a logistics company."
BAD_LIMITS = [1, 0, -1, 41, 10**6, *NOT_INTEGERS]

#: Bodies IA-REQ-1 says are refused; "{first}" is the catalog's first id.
REFUSED = [
    ("no user_input", {"stakeholder_id": "{first}", "max_interview_messages": 8}),
    ("no user_input, a profile", {"stakeholder_profile": PROFILE, "max_interview_messages": 8}),
    ("no user_input, a profile, no limit", {"stakeholder_profile": PROFILE}),
    ("only a limit", {"max_interview_messages": 8}),
    ("empty object", {}),
    ("neither stakeholder", {"user_input": PROBLEM, "max_interview_messages": 8}),
    ("neither stakeholder, no limit", {"user_input": PROBLEM}),
    ("unknown stakeholder", {"user_input": PROBLEM, "stakeholder_id": "no_such_stakeholder",
                             "max_interview_messages": 8}),
    *[(f"limit {limit!r}", {"user_input": PROBLEM, "stakeholder_id": "{first}",
                            "max_interview_messages": limit}) for limit in BAD_LIMITS],
    *[(f"limit {limit!r} with a profile", {"user_input": PROBLEM, "stakeholder_profile": PROFILE,
                                           "max_interview_messages": limit})
      for limit in (1, 41, "8")],
]


@pytest.mark.parametrize("body", [b for _, b in REFUSED], ids=[name for name, _ in REFUSED])
def test_invalid_request_is_refused(interrogation, body):
    d = interrogation.driver
    first = d.stakeholder_ids()[0]
    body = {k: first if v == "{first}" else v for k, v in body.items()}
    d.create(body, paid=False, note="invalid request")


def test_profile_overrides_stakeholder_id(interrogation):
    """IA-REQ-3: with both fields the profile wins, so an unknown id beside it
    is no 404. One paid run, taken live from budget the stream tests leave."""
    d = interrogation.driver
    d.stakeholder_ids()
    created = d.create({"user_input": PROBLEM, "stakeholder_profile": PROFILE,
                        "stakeholder_id": "no_such_stakeholder", "max_interview_messages": 8},
                       keep=2 if interrogation.live else 0, note="both stakeholder fields")
    answer = created.json
    if created.status == 202 and isinstance(answer, dict):
        d.status(str(answer.get("simulation_id")))


#: Bodies no rule covers: accepted (a paid run) or refused with 400 or 422.
UNRULED = [
    ("empty user_input", {"user_input": ""}),
    ("blank user_input", {"user_input": " \t\n"}),
    ("huge user_input", {"user_input": PROBLEM * 400}),
    ("control characters", {"user_input": "Churn\x00 after\x07 onboarding\x1b"}),
    ("format characters", {"user_input": "Churn\u200b after\u202e onboarding\ufeff"}),
    ("astral characters", {"user_input": "Churn after onboarding \U0001f4c9\U0001d11e"}),
    ("an extra field", {"user_input": PROBLEM, "priority": "high"}),
    ("no limit", {"user_input": PROBLEM, "max_interview_messages": "{omit}"}),
    ("null limit", {"user_input": PROBLEM, "max_interview_messages": None}),
    ("integral float limit", {"user_input": PROBLEM, "max_interview_messages": 8.0}),
    ("null user_input", {"user_input": None}),
    ("user_input not a string", {"user_input": 42}),
    ("blank stakeholder_id", {"user_input": PROBLEM, "stakeholder_id": " "}),
    ("blank stakeholder_id, a profile", {"user_input": PROBLEM, "stakeholder_id": "",
                                         "stakeholder_profile": PROFILE}),
    ("blank profile, a listed stakeholder", {"user_input": PROBLEM, "stakeholder_profile": ""}),
    ("profile as an object", {"user_input": PROBLEM, "stakeholder_profile": {"title": "CFO"}}),
    ("unknown stakeholder, no user_input", {"stakeholder_id": "no_such_stakeholder"}),
    ("unknown stakeholder, bad limit", {"user_input": PROBLEM,
                                        "stakeholder_id": "no_such_stakeholder",
                                        "max_interview_messages": 41}),
]


@pytest.mark.parametrize("body", [b for _, b in UNRULED], ids=[name for name, _ in UNRULED])
def test_unruled_input_gets_a_lawful_answer(interrogation, body):
    """A listed stakeholder and limit 8 unless the body says otherwise. Only
    the generic rules (and IA-REQ-2 on an accepted one) judge the answer; an
    accepted body is a paid run, so a live run sends these only from spare
    budget."""
    d = interrogation.driver
    first = d.stakeholder_ids()[0]
    full = {"stakeholder_id": first, "max_interview_messages": 8, **body}
    full = {k: v for k, v in full.items() if v != "{omit}"}
    created = d.create(full, keep=2 if interrogation.live else 0, note="unruled input")
    answer = created.json
    if created.status in (200, 201, 202) and isinstance(answer, dict):
        d.status(str(answer.get("simulation_id")))


@pytest.mark.parametrize("limit", [2, 3, 39, 40])
@pytest.mark.parametrize("stakeholder", ["first listed", "ad-hoc profile"])
def test_limit_in_range_is_accepted(interrogation, stakeholder, limit):
    d = interrogation.driver
    first = d.stakeholder_ids()[0]
    who = {"stakeholder_id": first} if stakeholder == "first listed" else {
        "stakeholder_profile": PROFILE}
    run = d.start({"user_input": PROBLEM, **who, "max_interview_messages": limit},
                  keep=2 if interrogation.live else 0)
    d.status(run.simulation_id)


@given(data=st.data())
def test_any_body_gets_a_lawful_answer(interrogation, data):
    """Any mix of missing, blank, mistyped and out-of-range fields, any Unicode
    user_input, any listed stakeholder: refused as IA-REQ-1 says or accepted
    as IA-REQ-2 says, and never a 5xx. Live, only bodies that start no run."""
    with interrogation.example() as run:
        d = run.driver
        listed = d.stakeholder_ids()
        body = data.draw(simulation_bodies(listed), label="body")
        expect_refusal = refused(body, listed)
        if run.live:
            assume(expect_refusal)
        created = d.create(body, paid=not expect_refusal, note="any body")
        answer = created.json
        if created.status == 202 and isinstance(answer, dict):
            d.status(str(answer.get("simulation_id")))
