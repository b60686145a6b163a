"""Self-tests of the Interrogation Agent simulator's variants
(jobcontracts.sims.interrogation.choices): variant 0 is the reference server,
other variants make the choices the documents leave open differently, every
variant's streams decode to lawful runs, and faults still bite on top.
"""

from __future__ import annotations

import dataclasses
import json
from itertools import pairwise
from typing import Any

import httpx
import pytest

from jobcontracts.clock import VirtualClock
from jobcontracts.sims.interrogation import InterrogationSimulator
from jobcontracts.sims.interrogation.choices import CHECKS, Choices
from jobcontracts.sims.variant import Variant
from jobcontracts.trace import parse_events

BASE = "https://interrogation.sim"
PROBLEM = "Our trial-to-paid conversion dropped after onboarding changes."
FIRST = "adult_tech_consumer_30_45"
VARIANTS = range(1, 25)


def client(variant: int, faults: set[str] | None = None) -> tuple[httpx.Client, Any]:
    sim = InterrogationSimulator(VirtualClock(), seed=3, variant=variant, faults=faults)
    return httpx.Client(base_url=BASE, transport=httpx.MockTransport(sim.handle)), sim


def choices(variant: int) -> Choices:
    return Choices.of(Variant(variant))


def first_variant(**wanted: Any) -> int:
    """The first variant (1..) whose choices include `wanted`."""
    for number in range(1, 500):
        made = choices(number)
        if all(getattr(made, name) == value for name, value in wanted.items()):
            return number
    raise AssertionError(f"no variant with {wanted}")


def events_of(http: httpx.Client, url: str, last: str | None = None) -> list[Any]:
    headers = {} if last is None else {"Last-Event-ID": last}
    return list(parse_events(http.get(url, headers=headers).content))


def test_variant_zero_is_the_reference() -> None:
    c = choices(0)
    assert c.check_order == CHECKS
    assert (c.blank_text, c.extra_fields, c.limit_absent, c.limit_null) == (None,) * 4
    assert (c.id_start, c.id_step, c.line_ending, c.keepalive) == (0, 1, "\n", "comment")
    assert (c.pace, c.failure_timeout, c.end_linger, c.simulation_id) == (1.0, 30.0, 0.0, "uuid")


def test_every_choice_varies_across_variants() -> None:
    for field in dataclasses.fields(Choices):
        seen = {repr(getattr(choices(n), field.name)) for n in range(0, 40)}
        assert len(seen) > 1, field.name


def test_which_check_comes_first_is_a_variant_choice() -> None:
    """No user_input and an unknown stakeholder: 400 and 404 are both lawful."""
    body = {"stakeholder_id": "no_such_stakeholder", "max_interview_messages": 8}
    late = first_variant(check_order=("stakeholder", *[c for c in CHECKS if c != "stakeholder"]))
    assert client(0)[0].post("/api/simulations", json=body).status_code == 400
    assert client(late)[0].post("/api/simulations", json=body).status_code == 404


@pytest.mark.parametrize("status", [400, 422])
def test_unruled_inputs_may_be_refused(status: int) -> None:
    number = first_variant(blank_text=status, extra_fields=status)
    http, sim = client(number)
    for body in ({"user_input": "", "stakeholder_id": FIRST},
                 {"user_input": PROBLEM, "stakeholder_id": FIRST, "priority": "high"}):
        refused = http.post("/api/simulations", json=body)
        assert refused.status_code == status, (body, refused.text)
        assert isinstance(refused.json(), dict) and refused.json()
        assert client(0)[0].post("/api/simulations", json=body).status_code == 202
    assert not sim.simulations


def test_ruled_refusals_keep_their_status_in_every_variant() -> None:
    """Each IA-REQ-1 refusal alone, with nothing else wrong: the one status."""
    for number in VARIANTS:
        http, sim = client(number)
        first = http.get("/api/stakeholders").json()["stakeholders"][0]["id"]
        base = {"user_input": PROBLEM, "stakeholder_id": first, "max_interview_messages": 8}
        probes = [
            ({k: v for k, v in base.items() if k != "user_input"}, 400),
            ({k: v for k, v in base.items() if k != "stakeholder_id"}, 400),
            ({**base, "stakeholder_id": "no_such_stakeholder"}, 404),
            ({**base, "max_interview_messages": 41}, 400),
            ({**base, "max_interview_messages": "8"}, 400),
            (base, 202),
        ]
        for body, status in probes:
            answer = http.post("/api/simulations", json=body)
            assert answer.status_code == status, (number, body, answer.text)
        assert len(sim.simulations) == 1


@pytest.mark.parametrize("number", VARIANTS)
def test_every_variant_streams_a_lawful_run(number: int) -> None:
    http, _ = client(number)
    first = http.get("/api/stakeholders").json()["stakeholders"][0]["id"]
    created = http.post("/api/simulations", json={"user_input": PROBLEM, "stakeholder_id": first,
                                                  "max_interview_messages": 6})
    assert created.status_code == 202
    run = created.json()
    response = http.get(run["events_url"])
    assert response.headers["content-type"].split(";")[0] == "text/event-stream"
    events = list(parse_events(response.content))
    names = [json.loads(e.data)["event"] for e in events]
    assert names[0] == "sse.connected" and names[-1] == "simulation.completed"
    assert names.count("simulation.started") == 1
    ids = [int(e.id) for e in events if e.id]
    assert ids == sorted(set(ids)) and len(ids) == len(events) - 1
    assert all(json.loads(e.data)["simulation_id"] == run["simulation_id"] for e in events)
    resumed = events_of(http, run["events_url"], events[5].id)
    assert [e.data for e in resumed[1:]] == [e.data for e in events[6:]]
    record = http.get(run["details_url"]).json()
    assert record["status"] == "completed"
    assert record["final_answer"] == json.loads(events[-1].data)["payload"]["final_answer"]


@pytest.mark.parametrize("number", [first_variant(id_step=10), first_variant(id_start=100)])
@pytest.mark.parametrize("fault", ["resume-skips-one", "resume-repeats-last", "ids-repeat"])
def test_id_faults_bite_whatever_the_numbering(number: int, fault: str) -> None:
    http, _ = client(number, {fault})
    url = http.post("/api/simulations", json={"user_input": PROBLEM, "stakeholder_id": FIRST,
                                              "max_interview_messages": 4}).json()["events_url"]
    full = events_of(http, url)
    ids = [e.id for e in full[1:]]
    if fault == "ids-repeat":
        assert len(set(ids)) == len(ids) - 1
        return
    resumed = [e.id for e in events_of(http, url, ids[3])[1:]]
    expected = ids[5:] if fault == "resume-skips-one" else ids[3:]
    assert resumed == expected


def test_simulation_id_mismatch_bites_on_ids_without_dashes() -> None:
    http, _ = client(first_variant(simulation_id="prefixed"), {"simulation-id-mismatch"})
    run = http.post("/api/simulations", json={"user_input": PROBLEM, "stakeholder_id": FIRST,
                                              "max_interview_messages": 2}).json()
    ids = {json.loads(e.data)["simulation_id"] for e in events_of(http, run["events_url"])}
    assert run["simulation_id"] in ids and len(ids) == 2


def test_step_regresses_forces_a_second_hypothesis() -> None:
    http, _ = client(first_variant(hypotheses=(1, 2)), {"step-regresses"})
    for _ in range(4):
        run = http.post("/api/simulations", json={"user_input": PROBLEM, "stakeholder_id": FIRST,
                                                  "max_interview_messages": 2}).json()
        steps = [json.loads(e.data)["payload"].get("step")
                 for e in events_of(http, run["events_url"])]
        numbered = [s for s in steps if isinstance(s, int)]
        assert any(b < a for a, b in pairwise(numbered))
