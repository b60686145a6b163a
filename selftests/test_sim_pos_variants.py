"""Self-tests of the POS simulator's variants (`sims/pos/choices.py`): variant
0 is the reference behaviour, other numbers draw the free choices the
documents leave open, each variant is still a conforming server (the audit
finds no broken rule), and the named faults still break their rule on top."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobcontracts.sims.pos import PosSimulator
from jobcontracts.sims.pos.choices import REFERENCE, PosChoices
from jobcontracts.sims.variant import Variant

from .pos_kit import PREFIX, Audit, PosApi, body_of, parse_time

CHOICE_NAMES = [name for name in PosChoices.__dataclass_fields__ if name != "variant"]


def choices(number: int) -> PosChoices:
    return PosChoices.of(Variant(number))


def first_job_id(api: PosApi) -> int:
    return api.create("orders smooth")


def script(api: PosApi) -> list[tuple[int, bytes]]:
    """One fixed conversation; every answer's status and bytes."""
    answers = []
    for method, path, kw in (
        ("POST", f"{PREFIX}/generate", {"json": {"provider": "Square", "topic": "a clarify"}}),
        ("POST", f"{PREFIX}/generate", {"json": {"provider": "", "topic": ""}}),
        ("POST", f"{PREFIX}/generate", {"json": {"topic": "x"}}),
        ("GET", f"{PREFIX}/jobs/999", {}),
    ):
        response = api.send(method, path, **kw)
        answers.append((response.status_code, response.content))
    job_id = body_of(api.send("POST", f"{PREFIX}/generate",
                              json={"provider": "Square", "topic": "b flaky"}))["jobId"]
    for _ in range(80):
        for path in (f"{PREFIX}/jobs/{job_id}", f"{PREFIX}/jobs/{job_id}/respond"):
            response = (api.send("GET", path) if path.endswith(str(job_id))
                        else api.send("POST", path, json={"nope": 1}))
            answers.append((response.status_code, response.content))
        api.clock.sleep(3)
    return answers


# =========================================================================== the choices


def test_variant_zero_is_the_reference() -> None:
    """Every choice of variant 0 is its first option: today's behaviour."""
    assert choices(0) == REFERENCE
    ref = REFERENCE
    assert ref.respond_check_order == ("job", "body", "state")
    assert ref.invalid_body_status == 400 and ref.time_scale == 1.0
    assert None is ref.empty_strings is ref.extra_fields is ref.odd_unicode is ref.rate_limit
    assert (ref.job_ids, ref.max_attempts, ref.timestamp_style) == ("from-thousands", 3,
                                                                     "millis-z")
    assert script(PosApi(seed=4)) == script(PosApi(seed=4, variant=0))


def test_every_choice_differs_across_variants_and_repeats_for_one() -> None:
    drawn = [choices(n) for n in range(1, 40)]
    for name in CHOICE_NAMES:
        values = {repr(getattr(c, name)) for c in drawn}
        assert len(values) >= 2, f"{name} never varies: {values}"
    assert choices(7) == choices(7)
    assert choices(7) != choices(8)
    assert script(PosApi(seed=4, variant=7)) == script(PosApi(seed=4, variant=7))
    assert len({tuple(script(PosApi(seed=4, variant=n))) for n in (0, 1, 2, 3)}) == 4


def test_simulator_describes_its_choices() -> None:
    sim = PosSimulator(clock=PosApi().clock, variant=5)
    assert sim.choices == choices(5)
    assert "respond_check_order" in sim.variant.describe()


# =========================================================================== each choice


def variant_where(**wanted: Any) -> int:
    """The first variant number whose choices include `wanted`."""
    for number in range(1, 400):
        c = choices(number)
        if all(getattr(c, k) == v for k, v in wanted.items()):
            return number
    raise AssertionError(f"no variant with {wanted}")


@pytest.mark.parametrize("order", [("job", "body", "state"), ("body", "job", "state"),
                                   ("job", "state", "body")])
def test_respond_check_order(order: tuple[str, ...]) -> None:
    """An invalid body to a job that is not paused: 409 only when the state is
    checked first; an invalid body to an unknown job: 404 unless the body is."""
    api = PosApi(variant=variant_where(respond_check_order=order, rate_limit=None))
    invalid = api.sim.choices.invalid_body_status
    job_id = first_job_id(api)
    bad = api.send("POST", f"{PREFIX}/jobs/{job_id}/respond", json={"answer": "x"})
    assert bad.status_code == (409 if order.index("state") < order.index("body") else invalid)
    unknown = api.send("POST", f"{PREFIX}/jobs/77/respond", json={"answer": "x"})
    assert unknown.status_code == (invalid if order[0] == "body" else 404)
    plain = api.respond(job_id, "Use the v2 API.")
    assert plain.status_code == 409  # POS-RESP-1 on every variant
    assert api.job(job_id)["humanResponse"] == ""


@pytest.mark.parametrize("status", [400, 422])
def test_inputs_nobody_rules_on_may_be_refused(status: int) -> None:
    api = PosApi(variant=variant_where(empty_strings=status, extra_fields=status,
                                       rate_limit=None))
    for body in ({"provider": "Square", "topic": ""},
                 {"provider": "Square", "topic": "orders", "extra": True}):
        refused = api.send("POST", f"{PREFIX}/generate", json=body)
        assert refused.status_code == status, refused.text
        assert body_of(refused)["error"]["code"] == status
    assert first_job_id(api) > 0  # a plain request is still served


def test_reference_accepts_what_nobody_rules_on() -> None:
    api = PosApi()
    for topic in ("", " ", "\u0000\ud800", "x" * 20_000):
        body = {"provider": "Nobody POS", "topic": topic, "extra": 1}
        response = api.send("POST", f"{PREFIX}/generate", content=json.dumps(body).encode())
        assert response.status_code == 202, response.text


@pytest.mark.parametrize("style", ["from-thousands", "from-one", "large", "sparse"])
def test_job_ids_are_integers_in_every_style(style: str) -> None:
    api = PosApi(variant=variant_where(job_ids=style, rate_limit=None))
    ids = [first_job_id(api) for _ in range(4)]
    assert all(isinstance(i, int) and 0 < i < 2**53 for i in ids)
    assert ids == sorted(set(ids))
    if style == "from-one":
        assert ids == [1, 2, 3, 4]
    assert api.job(ids[-1])["id"] == ids[-1]


def test_lenient_job_ids_name_the_same_job() -> None:
    lenient = PosApi(variant=variant_where(lenient_job_ids=True, rate_limit=None))
    strict = PosApi()
    for api, status in ((lenient, 200), (strict, 404)):
        job_id = first_job_id(api)
        assert api.send("GET", f"{PREFIX}/jobs/00{job_id}").status_code == status


@pytest.mark.parametrize("attempts", [2, 3, 4, 5])
def test_attempts_before_giving_up(attempts: int) -> None:
    api = PosApi(variant=variant_where(max_attempts=attempts, rate_limit=None))
    failed = api.run(api.create("orders fail"))[-1]
    assert [r["attempt"] for r in failed["testResults"]] == list(range(1, attempts + 1))
    assert failed["status"] == "failed" and failed["retries"] == attempts - 1
    flaky = api.run(api.create("orders flaky"))[-1]
    assert flaky["status"] == "completed" and flaky["testResults"][-1]["passed"]


@pytest.mark.parametrize("stage", ["retrying"])
def test_a_skipped_stage_is_never_seen(stage: str) -> None:
    api = PosApi(variant=variant_where(skipped_stage=stage, rate_limit=None))
    records = api.run(api.create("orders clarify flaky"), step=0.5)
    assert stage not in {r["stage"] for r in records}
    assert records[-1]["status"] == "completed"


@pytest.mark.parametrize("style", ["millis-z", "micros-offset", "seconds-z"])
def test_timestamps_are_rfc3339_in_every_style(style: str) -> None:
    api = PosApi(variant=variant_where(timestamp_style=style, rate_limit=None))
    final = api.run(api.create("orders flaky"))[-1]
    stamps = [final["createdAt"], final["updatedAt"]] + [
        item["timestamp"] for item in final["logs"] + final["testResults"]]
    assert all(parse_time(s) is not None for s in stamps)
    assert final["createdAt"].endswith("+00:00" if style == "micros-offset" else "Z")


def test_time_scale_stretches_the_timeline() -> None:
    slow = variant_where(time_scale=max(choices(n).time_scale for n in range(1, 30)))
    fast = variant_where(time_scale=min(choices(n).time_scale for n in range(1, 30)))
    took = {}
    for number in (slow, fast):
        api = PosApi(seed=3, variant=number, retry_429=True)
        start = api.clock.now()
        api.run(api.create("orders smooth"), step=0.5)
        took[number] = api.clock.now() - start
    assert took[slow] > took[fast]


def test_a_rate_limited_variant_answers_429_with_retry_after() -> None:
    api = PosApi(variant=variant_where(rate_limit=(8.0, 1.0)))
    statuses = [api.send("GET", f"{PREFIX}/jobs/1").status_code for _ in range(12)]
    assert 429 in statuses and set(statuses) <= {404, 429}
    refused = next(r for r in (api.send("GET", f"{PREFIX}/jobs/1") for _ in range(3))
                   if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert body_of(refused)["error"]["code"] == 429


# =========================================================================== still conforming


@pytest.mark.parametrize("number", range(1, 9))
def test_audit_of_every_variant_is_clean(number: int) -> None:
    assert Audit(variant=number).run() == {}


@pytest.mark.parametrize("fault", ["respond-409-but-recorded", "respond-anytime",
                                   "pending-while-gathering", "attempt-skips"])
@pytest.mark.parametrize("number", [1, 2, 3])
def test_faults_still_break_their_rule_on_a_variant(fault: str, number: int) -> None:
    from jobcontracts.sims.pos import FAULTS

    broken = Audit({fault}, variant=number).run()
    assert set(broken) == {FAULTS[fault].rule}, broken
