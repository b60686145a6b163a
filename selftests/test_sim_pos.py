"""Self-tests of the embedded POS adapter-scripts simulator (jobcontracts.sims.pos).

- direct calls showing the conforming behaviour: the lifecycle each topic
  trigger asks for, the seeded mix, determinism, auth, errors, respond, rate
  limits; every body is validated against the OpenAPI document as published;
- an audit (`pos_kit.Audit`): one scripted run through every endpoint that
  records which `POS-*` rules were broken. The conforming simulator breaks
  none, over many seeds; each named fault breaks exactly its own rule;
- one test per fault showing its symptom.

Everything runs on a VirtualClock: a three-minute job costs no wall time.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import httpx
import pytest

from jobcontracts.clock import VirtualClock
from jobcontracts.sims.pos import DEFAULT_API_KEY, FAULTS, Fault, PosSimulator

from .pos_kit import (
    BAD_GENERATE_BODIES,
    BASE,
    KEY,
    OTHER_KEY,
    PREFIX,
    SCHEMAS,
    TERMINAL,
    UNKNOWN_IDS,
    Audit,
    PosApi,
    Rules,
    body_of,
    parse_time,
)

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
STATUSES = ("pending", "running", "needs_clarification", "completed", "failed")
STAGES = ("queued", "gathering", "generating", "testing", "retrying", "done")


class DocumentRules(Rules):
    """The kit's rules and the document's own POS-PROJ-5 (the listed statuses
    and stages), POS-SCHEMA-2 (zoned createdAt / updatedAt) and POS-SCHEMA-3
    (zoned testResults[] and logs[] timestamps). Those findings
    are theirs alone: as in the contract, POS-PROJ-1 does not judge the stage
    beside needs_clarification, and POS-PROJ-3 orders only what parses."""

    def job(self, job: dict[str, Any], where: str = "") -> None:
        status, stage = job.get("status"), job.get("stage")
        self.flag("POS-PROJ-5", status in STATUSES and stage in STAGES,
                  f"{where}: {status}/{stage}")
        stamps = [job.get("createdAt"), job.get("updatedAt")]
        zoned = all(parse_time(t) is not None for t in stamps)
        self.flag("POS-SCHEMA-2", zoned, f"{where}: createdAt/updatedAt {stamps}")
        lawful = dict(job)
        if status == "needs_clarification" and stage not in STAGES:
            lawful["stage"] = "gathering"
        if not zoned:
            lawful["createdAt"] = lawful["updatedAt"] = "2026-01-01T00:00:00Z"
        for name in ("testResults", "logs"):
            items = job.get(name) or []
            unzoned = [i.get("timestamp") for i in items if parse_time(i.get("timestamp")) is None]
            self.flag("POS-SCHEMA-3", not unzoned, f"{where}: {name} timestamps {unzoned[:2]}")
            if unzoned:  # POS-PROJ-3 orders only what parses
                lawful[name] = [{k: v for k, v in i.items() if k != "timestamp"} | {
                    "timestamp": "2026-01-01T00:00:00Z"} for i in items]
        super().job(lawful, where)


class DocumentAudit(Audit):
    """`pos_kit.Audit`, judging with `DocumentRules`."""

    def __init__(self, faults: frozenset[str] | set[str] = frozenset(), **kw: Any) -> None:
        super().__init__(faults, **kw)
        self.rules = DocumentRules()


def phases(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The (status, stage) pairs the records went through, repeats folded."""
    seen: list[tuple[str, str]] = []
    for job in records:
        pair = (job["status"], job["stage"])
        if not seen or seen[-1] != pair:
            seen.append(pair)
    return seen


def assert_envelope(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = body_of(response)
    assert SCHEMAS.problems(status, body) == []
    assert body["error"]["code"] == status
    if field is not None:
        assert body["error"]["field"] == field


# =========================================================================== conforming


def test_public_interface() -> None:
    clock = VirtualClock()
    sim = PosSimulator(
        clock=clock, seed=3, faults={"attempt-skips"}, api_keys=(DEFAULT_API_KEY,), rate_limit=None
    )
    assert sim.handle == sim.router.handler
    assert DEFAULT_API_KEY == "pos_test_simulator_key"
    assert 12 <= len(FAULTS) <= 18
    assert all(isinstance(f, Fault) and f.name == name for name, f in FAULTS.items())
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in FAULTS)
    rules = {f.rule for f in FAULTS.values()}
    assert rules == {f"POS-PROJ-{n}" for n in range(1, 6)} | {
        "POS-AUTH-1",
        "POS-SCHEMA-1",
        "POS-SCHEMA-2",
        "POS-SCHEMA-3",
        "POS-RESP-1",
    }
    with pytest.raises(ValueError, match=r"no-such-fault.*valid names:.*attempt-skips"):
        PosSimulator(clock=clock, faults={"no-such-fault"})
    with pytest.raises(ValueError, match="at least one API key"):
        PosSimulator(clock=clock, api_keys=())


def test_openapi_document_is_used_as_published() -> None:
    ref = SCHEMAS.refs[200]
    assert " " in ref and "{jobId}" in ref  # the odd name, unedited
    api = PosApi()
    job_id = api.create("orders smooth")
    good = body_of(api.send("GET", f"{PREFIX}/jobs/{job_id}"))
    bad = {**good, "job": {**good["job"], "retries": "0"}}
    missing = {k: v for k, v in good.items() if k != "message"}
    for status, body, ok in ((200, good, True), (200, bad, False), (200, missing, False)):
        assert SCHEMAS.by_ref[status].is_valid(body) is ok
        assert SCHEMAS.validators[status].is_valid(body) is ok
    error = body_of(api.send("GET", f"{PREFIX}/jobs/1"))
    assert SCHEMAS.by_ref[404].is_valid(error) and SCHEMAS.validators[404].is_valid(error)


def test_a_client_flow_through_httpx() -> None:
    """Create, poll, answer the clarification, poll to the end, with a real client."""
    clock = VirtualClock()
    sim = PosSimulator(clock=clock, seed=11)
    client = httpx.Client(transport=httpx.MockTransport(sim.handle), base_url=BASE, headers=KEY)
    created = client.post(
        f"{PREFIX}/generate", json={"provider": "Toast", "topic": "orders clarify"}
    )
    assert created.status_code == 202 and SCHEMAS.problems(202, created.json(), created=True) == []
    job_id = created.json()["jobId"]
    rules = Rules()
    while True:
        response = client.get(f"{PREFIX}/jobs/{job_id}")
        job = rules.response("GET", response)["job"]
        if job["status"] == "needs_clarification":
            assert job["clarification"].endswith("?") and job["humanResponse"] == ""
            answer = client.post(
                f"{PREFIX}/jobs/{job_id}/respond", json={"humanResponse": "Cents, please."}
            )
            after = rules.response("POST respond", answer)["job"]
            assert after["status"] == "running" and after["humanResponse"] == "Cents, please."
            assert after["clarification"] == job["clarification"]
        if job["status"] in TERMINAL:
            break
        clock.sleep(2)
    assert rules.broken == {}
    assert job["status"] == "completed" and job["resultScriptId"] > 0
    assert job["hypothesis"].startswith("# Adapter script: Toast / orders clarify (revision 1)")
    assert job["humanResponse"] == "Cents, please." and job["retries"] == 0
    assert [(r["attempt"], r["passed"]) for r in job["testResults"]] == [(1, True)]
    assert job["testResults"][0]["outputCount"] > 0 and job["testResults"][0]["error"] == ""


QUEUED, GATHER, PAUSE = (
    ("pending", "queued"),
    ("running", "gathering"),
    ("needs_clarification", "gathering"),
)
GEN, TEST, RETRY = ("running", "generating"), ("running", "testing"), ("running", "retrying")
COMPLETED, FAILED = ("completed", "done"), ("failed", "done")
THREE_TRIES = [TEST, RETRY, TEST, RETRY, TEST]


@pytest.mark.parametrize(
    ("topic", "expected", "passes"),
    [
        ("orders smooth", [QUEUED, GATHER, GEN, TEST, COMPLETED], [True]),
        ("orders clarify", [QUEUED, GATHER, PAUSE, GATHER, GEN, TEST, COMPLETED], [True]),
        ("orders flaky", [QUEUED, GATHER, GEN, *THREE_TRIES, COMPLETED], [False, False, True]),
        ("orders fail", [QUEUED, GATHER, GEN, *THREE_TRIES, FAILED], [False, False, False]),
        ("orders fail-early", [QUEUED, GATHER, FAILED], []),
        (
            "Inventory CLARIFY Flaky",
            [QUEUED, GATHER, PAUSE, GATHER, GEN, *THREE_TRIES, COMPLETED],
            [False, False, True],
        ),
        ("clarify fail-early", [QUEUED, GATHER, FAILED], []),
    ],
)
def test_topic_triggers_choose_the_lifecycle(
    topic: str, expected: list[tuple[str, str]], passes: list[bool]
) -> None:
    for seed in range(5):
        api = PosApi(seed=seed)
        start = api.clock.now()
        job_id = api.create(topic, provider="Clover")
        records = api.run(job_id, step=1.0)
        final = records[-1]
        assert phases(records) == expected
        assert [r["passed"] for r in final["testResults"]] == passes
        assert [r["attempt"] for r in final["testResults"]] == list(range(1, len(passes) + 1))
        assert final["retries"] == max(0, len(passes) - 1)
        assert (final["resultScriptId"] > 0) is (final["status"] == "completed")
        assert bool(final["hypothesis"]) is bool(passes)
        assert all(bool(r["error"]) is not r["passed"] for r in final["testResults"])
        assert all((r["outputCount"] > 0) is r["passed"] for r in final["testResults"])
        assert final["humanResponse"] == ("Use the v2 API." if PAUSE in expected else "")
        assert bool(final["clarification"]) is (PAUSE in expected)
        assert final["updatedAt"] == final["logs"][-1]["timestamp"]
        took = api.clock.now() - start
        assert took <= (125 if len(passes) <= 1 else 195) + (10 if PAUSE in expected else 0)
        if topic == "orders smooth":
            assert 44 <= took <= 121


def test_phase_order_of_a_plain_job() -> None:
    api = PosApi(seed=2)
    records = api.run(api.create("orders smooth"), step=1.0)
    assert phases(records) == [
        ("pending", "queued"),
        ("running", "gathering"),
        ("running", "generating"),
        ("running", "testing"),
        ("completed", "done"),
    ]
    growing = [len(r["hypothesis"]) for r in records]
    assert growing == sorted(growing) and growing[0] == 0


def test_seeded_mix_meets_every_fate() -> None:
    api = PosApi(seed=5)
    ids = [api.create(topic) for topic in ("orders", "payments", "menu items") * 40]
    paused: set[int] = set()
    finals: dict[int, dict[str, Any]] = {}
    while len(finals) < len(ids):
        for job_id in ids:
            if job_id in finals:
                continue
            job = api.job(job_id)
            if job["status"] == "needs_clarification":
                paused.add(job_id)
                assert api.respond(job_id).status_code == 200
            elif job["status"] in TERMINAL:
                finals[job_id] = job
        api.clock.sleep(5)
    fates = Counter((f["status"], len(f["testResults"])) for f in finals.values())
    assert set(fates) == {
        ("failed", 0),
        ("completed", 1),
        ("completed", 2),
        ("completed", 3),
        ("failed", 3),
    }
    assert fates[("completed", 1)] > len(ids) // 3
    assert len(ids) // 8 < len(paused) < len(ids) // 2


@pytest.mark.parametrize("seed", range(12))
def test_audit_of_the_conforming_simulator_is_clean(seed: int) -> None:
    assert DocumentAudit(seed=seed).run() == {}


def test_deterministic_given_seed_clock_and_requests() -> None:
    def transcript(seed: int) -> list[bytes]:
        api = PosApi(seed=seed)
        ids = [api.create(t) for t in ("orders clarify", "orders", "payments flaky")]
        out = []
        for _ in range(60):
            for job_id in ids:
                out.append(api.send("GET", f"{PREFIX}/jobs/{job_id}").content)
                out.append(api.respond(job_id, "ok").content)
            api.clock.sleep(3)
        return out

    assert transcript(1) == transcript(1)
    assert transcript(1) != transcript(2)


def test_the_world_advances_lazily() -> None:
    api = PosApi(seed=4)
    job_id = api.create("payments flaky")
    api.clock.sleep(3600)
    job = api.job(job_id)
    assert job["status"] == "completed" and len(job["testResults"]) == 3
    stamps = [entry["timestamp"] for entry in job["logs"]]
    assert stamps == sorted(stamps) and all(ISO_MS.match(s) for s in stamps)
    assert job["updatedAt"] == stamps[-1] and ISO_MS.match(job["createdAt"])
    assert parse_time(stamps[-1]) is not None
    assert [e["stage"] for e in job["logs"]][:2] == ["queued", "gathering"]


@pytest.mark.parametrize("content", BAD_GENERATE_BODIES)
def test_bad_generate_bodies_get_400(content: bytes) -> None:
    api = PosApi()
    response = api.send("POST", f"{PREFIX}/generate", content=content)
    assert_envelope(response, 400)
    field = body_of(response)["error"]["field"]
    assert field in ("", "provider", "topic")
    assert api.sim.jobs.jobs == {}


@pytest.mark.parametrize("text", ["", " ", "\ud800", "🙂 𝄞", "x" * 100_000, "fail\nclarify"])
def test_any_provider_and_topic_strings_are_accepted(text: str) -> None:
    api = PosApi()
    body = {"provider": text, "topic": text, "extra": [1, None]}
    created = api.send("POST", f"{PREFIX}/generate", content=json.dumps(body).encode())
    assert created.status_code == 202
    url = f"{PREFIX}/jobs/{body_of(created)['jobId']}"
    rules = Rules()
    for _ in range(80):
        job = rules.response("GET", api.send("GET", url))["job"]
        assert job["provider"] == text and job["topic"] == text
        if job["status"] == "needs_clarification":
            rules.response("respond", api.respond(job["id"], text))
        api.clock.sleep(5)
    assert rules.broken == {} and job["status"] in TERMINAL


def test_auth_on_every_endpoint() -> None:
    api = PosApi()
    job_id = api.create("orders clarify")
    api.clock.sleep(60)
    before = api.job(job_id)
    assert before["status"] == "needs_clarification"
    for headers in (
        {},
        {"X-Api-Key": "pos_wrong"},
        {"X-Api-Key": ""},
        {"x-api-key": "POS_TEST_SIMULATOR_KEY"},
    ):
        for method, path, body in (
            ("GET", f"{PREFIX}/jobs/{job_id}", None),
            ("GET", f"{PREFIX}/jobs/nope", None),
            ("POST", f"{PREFIX}/generate", {"provider": "Square", "topic": "x"}),
            ("POST", f"{PREFIX}/jobs/{job_id}/respond", {"humanResponse": "x"}),
            ("GET", "/api/v1/nowhere", None),
        ):
            response = api.send(method, path, headers=headers, json=body)
            assert_envelope(response, 401, "X-Api-Key")
    assert api.job(job_id) == before and len(api.sim.jobs.jobs) == 1
    assert_envelope(api.send("GET", "/healthz", headers={}), 404)
    # Jobs belong to the key that created them.
    other = {"X-Api-Key": OTHER_KEY}
    assert_envelope(api.send("GET", f"{PREFIX}/jobs/{job_id}", headers=other), 404, "jobId")
    refused = api.send(
        "POST", f"{PREFIX}/jobs/{job_id}/respond", headers=other, json={"humanResponse": "x"}
    )
    assert_envelope(refused, 404, "jobId")
    assert api.job(job_id) == before


@pytest.mark.parametrize("raw", UNKNOWN_IDS)
def test_unknown_and_malformed_job_ids_get_404(raw: str) -> None:
    api = PosApi()
    api.create("orders")
    assert_envelope(api.send("GET", f"{PREFIX}/jobs/{raw}"), 404, "jobId")
    assert_envelope(api.respond(raw), 404, "jobId")


def test_unknown_paths_and_methods() -> None:
    api = PosApi()
    assert_envelope(api.send("GET", f"{PREFIX}/jobs"), 404)
    assert_envelope(api.send("GET", f"{PREFIX}/jobs/1/"), 404)
    wrong = api.send("DELETE", f"{PREFIX}/jobs/1")
    assert_envelope(wrong, 405)
    assert wrong.headers["allow"] == "GET"
    assert api.send("GET", f"{PREFIX}/generate").headers["allow"] == "POST"


def test_respond_only_while_paused() -> None:
    api = PosApi(seed=9)
    job_id = api.create("orders clarify")
    url = f"{PREFIX}/jobs/{job_id}/respond"
    seen: list[str] = []
    while True:
        before = api.job(job_id)
        status = before["status"]
        seen.append(status)
        if status == "needs_clarification":
            for content in (b"", b"{}", b'{"humanResponse": 5}', b'{"humanResponse": null}', b"[]"):
                assert_envelope(api.send("POST", url, content=content), 400)
                assert api.job(job_id) == before
            answered = api.respond(job_id, "Every location.")
            assert answered.status_code == 200 and SCHEMAS.problems(200, body_of(answered)) == []
            job = body_of(answered)["job"]
            assert job["status"] == "running" and job["humanResponse"] == "Every location."
            assert job["logs"][-1]["message"] == "Clarification answered; resuming"
            assert_envelope(api.respond(job_id, "Again."), 409, "status")
            assert api.job(job_id) == job
        else:
            assert_envelope(api.respond(job_id, "Too early."), 409, "status")
            assert api.job(job_id) == before
        if status in TERMINAL:
            break
        api.clock.sleep(2)
    assert set(seen) == {"pending", "running", "needs_clarification", "completed"}
    failed = api.create("orders fail")
    api.clock.sleep(600)
    assert api.job(failed)["status"] == "failed"
    assert_envelope(api.respond(failed), 409, "status")


def test_rate_limit_refuses_with_retry_after_and_no_effect() -> None:
    api = PosApi(rate_limit=(2, 0.5))
    job_id = api.create("orders")
    api.job(job_id)
    refused = api.send("POST", f"{PREFIX}/generate", json={"provider": "a", "topic": "b"})
    assert_envelope(refused, 429)
    assert refused.headers["retry-after"] == "2"
    assert len(api.sim.jobs.jobs) == 1
    api.clock.sleep(2)
    assert (
        api.send("POST", f"{PREFIX}/generate", json={"provider": "a", "topic": "b"}).status_code
        == 202
    )
    assert_envelope(api.send("GET", f"{PREFIX}/jobs/{job_id}", headers={}), 401)  # auth first


# =========================================================================== faults


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_breaks_exactly_its_rule(name: str) -> None:
    broken = DocumentAudit({name}).run()
    assert set(broken) == {FAULTS[name].rule}, broken


def final(api: PosApi, topic: str) -> dict[str, Any]:
    job_id = api.create(topic)
    return api.run(job_id)[-1]


def test_symptom_auth_ignored() -> None:
    api = PosApi({"auth-ignored"})
    job_id = api.create("orders")
    assert api.send("GET", f"{PREFIX}/jobs/{job_id}", headers={}).status_code == 200
    assert api.send("GET", f"{PREFIX}/jobs/{job_id}", headers={"X-Api-Key": "x"}).status_code == 200
    assert_envelope(api.send("POST", f"{PREFIX}/generate", headers={}, json={}), 401)


def test_symptom_stage_while_paused() -> None:
    api = PosApi({"stage-while-paused"})
    records = api.run(api.create("orders clarify"), step=1.0)
    assert ("needs_clarification", "waiting") in phases(records)
    assert all(job["stage"] in STAGES for job in records if job["status"] != "needs_clarification")


def test_symptom_timestamps_not_rfc3339() -> None:
    api = PosApi({"timestamps-not-rfc3339"})
    job = api.job(api.create("orders"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", job["createdAt"])
    assert parse_time(job["updatedAt"]) is None
    assert all(ISO_MS.match(entry["timestamp"]) for entry in job["logs"])


def test_symptom_item_timestamps_not_rfc3339() -> None:
    api = PosApi({"item-timestamps-not-rfc3339"})
    job = api.job(api.create("orders"))
    assert job["logs"] and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", entry["timestamp"])
                               for entry in job["logs"])
    assert parse_time(job["createdAt"]) is not None and parse_time(job["updatedAt"]) is not None


def test_symptom_unknown_job_500() -> None:
    api = PosApi({"unknown-job-500"})
    assert api.send("GET", f"{PREFIX}/jobs/424242").status_code == 500
    assert_envelope(api.respond("424242"), 404)


def test_symptom_bare_not_found() -> None:
    response = PosApi({"bare-not-found"}).send("GET", f"{PREFIX}/jobs/424242")
    assert response.status_code == 404 and body_of(response) == {"message": "Job not found"}


def test_symptom_hypothesis_null() -> None:
    api = PosApi({"hypothesis-null"})
    job_id = api.create("orders")
    assert api.job(job_id)["hypothesis"] is None
    assert isinstance(final(api, "orders smooth")["hypothesis"], str)


def test_symptom_pending_while_gathering() -> None:
    api = PosApi({"pending-while-gathering"})
    records = api.run(api.create("orders smooth"), step=1.0)
    assert ("pending", "gathering") in phases(records)


def test_symptom_clarification_empty() -> None:
    api = PosApi({"clarification-empty"})
    records = api.run(api.create("orders clarify"))
    paused = [r for r in records if r["status"] == "needs_clarification"]
    assert paused and all(r["clarification"] == "" for r in paused)


def test_symptom_script_id_early() -> None:
    api = PosApi({"script-id-early"})
    records = api.run(api.create("orders smooth"), step=1.0)
    testing = [r for r in records if r["stage"] == "testing"]
    assert testing and all(
        r["resultScriptId"] == records[-1]["resultScriptId"] > 0 for r in testing
    )


def test_symptom_completed_without_script() -> None:
    job = final(PosApi({"completed-without-script"}), "orders smooth")
    assert job["status"] == "completed" and job["resultScriptId"] == 0


def test_symptom_attempt_skips() -> None:
    job = final(PosApi({"attempt-skips"}), "orders flaky")
    assert [r["attempt"] for r in job["testResults"]] == [1, 3, 4]


def test_symptom_retries_off_by_one() -> None:
    api = PosApi({"retries-off-by-one"})
    records = api.run(api.create("orders fail"), step=1.0)
    retrying = [r for r in records if r["stage"] == "retrying"]
    assert retrying[0]["retries"] == 1 and len(retrying[0]["testResults"]) == 1
    assert records[-1]["retries"] == 3


def test_symptom_log_time_goes_back() -> None:
    logs = final(PosApi({"log-time-goes-back"}), "orders smooth")["logs"]
    i = next(i for i, entry in enumerate(logs) if entry["stage"] == "generating")
    back = parse_time(logs[i - 1]["timestamp"]) - parse_time(logs[i]["timestamp"])  # type: ignore[operator]
    assert back.total_seconds() == 40


def test_symptom_success_flag_false() -> None:
    api = PosApi({"success-flag-false"})
    body = body_of(api.send("GET", f"{PREFIX}/jobs/{api.create('orders')}"))
    assert body["isSuccess"] is False and body["code"] == 200


def stray_answer(fault: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Respond to a running job: the status code, and the job before and after."""
    api = PosApi({fault})
    job_id = api.create("orders")
    api.clock.sleep(10)
    before = api.job(job_id)
    status = api.respond(job_id, "unasked").status_code
    return status, before, api.job(job_id)


def test_symptom_respond_anytime() -> None:
    status, before, after = stray_answer("respond-anytime")
    assert status == 200 and before["status"] == after["status"] == "running"
    assert before["humanResponse"] == "" and after["humanResponse"] == "unasked"


def test_symptom_respond_409_but_recorded() -> None:
    status, before, after = stray_answer("respond-409-but-recorded")
    assert status == 409 and before["status"] == after["status"] == "running"
    assert before["humanResponse"] == "" and after["humanResponse"] == "unasked"


def test_every_fault_has_a_symptom_test() -> None:
    tests = {name for name in globals() if name.startswith("test_symptom_")}
    assert tests == {f"test_symptom_{fault.replace('-', '_')}" for fault in FAULTS}
