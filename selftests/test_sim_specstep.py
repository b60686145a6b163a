"""Self-tests of the embedded SpecStep simulator (jobcontracts.sims.specstep).

Two kinds of tests:

- direct httpx calls showing the conforming behaviour (the document's Python
  flow, idempotency, rate limits, auth, errors, packages);
- an audit: one scripted run through every endpoint that records which
  `SS-*` rules were broken. The conforming simulator breaks none; each named
  fault breaks exactly its own rule and no other.

Everything runs on a VirtualClock, so a 4-minute generation costs no wall time.
"""

from __future__ import annotations

import io
import json
import re
import threading
import unicodedata
import zipfile
from typing import Any

import httpx
import pytest

from jobcontracts.clock import VirtualClock
from jobcontracts.sims.specstep import DEFAULT_API_KEY, FAULTS, Fault, SpecStepSimulator

from .sim_kit import (
    BASE,
    PAUSED,
    STATUS_KEYS,
    Api,
    assert_error,
    is_uuid,
)

# =========================================================================== conforming


def test_public_interface() -> None:
    clock = VirtualClock()
    sim = SpecStepSimulator(
        clock=clock,
        seed=123,
        faults={"progress-regresses"},
        api_keys=(DEFAULT_API_KEY,),
        rate_limit=(20, 2.0),
    )
    assert sim.handle == sim.router.handler
    assert DEFAULT_API_KEY == "sf_test_simulator_key"
    assert all(isinstance(f, Fault) and f.name == name for name, f in FAULTS.items())
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in FAULTS)
    assert all(re.fullmatch(r"SS-[A-Z]+-\d", f.rule) for f in FAULTS.values())
    with pytest.raises(ValueError, match=r"no-such-fault.*valid names:.*auth-ignored"):
        SpecStepSimulator(clock=clock, faults={"no-such-fault"})


def test_document_python_flow() -> None:
    """The sample script of specstep-language-samples.md, on the default rate limit."""
    api = Api(rate_limit=(20, 2.0))
    assert api.get("/v1/me").json()["key_prefix"] == "sf_test"
    start = api.post("/v1/interviews")
    assert start.status_code == 201
    interview = start.json()
    assert is_uuid(interview["id"]) and interview["status"] == "Active"
    assert interview["intake_artifact_id"] is None
    assert interview["turns"][0]["role"] == "agent"
    interview_id = interview["id"]
    failures = 0
    for message in ("I want to build a customer-feedback portal.", "For B2B SaaS teams."):
        while True:  # submit_turn, resubmitting on a retryable failure
            post = api.post(f"/v1/interviews/{interview_id}/turns", json={"message": message})
            assert post.status_code == 202
            assert post.json()["status"] == "queued" and post.json()["snapshot"] is None
            turn = api.wait_job(post.json()["job_id"])
            if turn["status"] == "completed":
                assert turn["snapshot"] == api.get(f"/v1/interviews/{interview_id}").json()
                break
            assert turn["error_code"] == "INTERVIEW_TURN_TIMEOUT" and turn["is_retryable"]
            failures += 1
    assert failures >= 1  # the second turn job of every simulator fails
    assert api.post(f"/v1/interviews/{interview_id}/complete").status_code == 200
    intake_id = api.get(f"/v1/interviews/{interview_id}").json()["intake_artifact_id"]
    assert is_uuid(intake_id)
    start_gen = api.post("/v1/generations", json={"intake_id": intake_id, "review_profile": "Fast"})
    assert start_gen.status_code == 202
    generation_id = start_gen.json()["id"]
    seen, package_id, started = set(), None, api.clock.now()
    while not package_id:
        poll = api.get(f"/v1/generations/{generation_id}")
        if poll.status_code == 429:
            api.clock.sleep(float(poll.headers["Retry-After"]))
            continue
        body = poll.json()
        assert set(body) == set(STATUS_KEYS)
        seen.add(body["state"])
        if body["recoverable_error_category"]:
            seen.add("retrying")
        if body["state"] == "Complete":
            package_id = body["package_id"]
            break
        if body["state"] == PAUSED:
            assert api.answer_all(generation_id).status_code == 200
        api.clock.sleep(15)
    assert seen == {"Queued", "Running", PAUSED, "retrying", "Complete"}
    assert 240 <= api.clock.now() - started <= 600  # Fast: ~4 min of work plus stalls
    assert body["host_restart_resume_count"] == 1 and body["retry_count"] == 1
    redirect = api.get(f"/v1/packages/{package_id}/zip")
    assert redirect.status_code == 302
    assert redirect.headers["location"].startswith(f"{BASE}/_blob/packages/{package_id}.zip?")
    download = api.get(f"/v1/packages/{package_id}/zip", follow_redirects=True)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert archive.namelist() == ["README.md", "spec.md"]
    assert b"customer-feedback portal" in archive.read("spec.md")


def test_profiles_set_the_length_of_the_run() -> None:
    api = Api()
    lengths = {}
    for profile in ("Fast", "Standard", "Thorough"):
        generation_id, start = api.generation(profile), api.clock.now()
        api.until(generation_id, PAUSED, step=10)
        assert api.answer_all(generation_id).status_code == 200
        api.until(generation_id, "Complete", step=60)
        lengths[profile] = api.clock.now() - start
    assert 200 < lengths["Fast"] < 500 < lengths["Standard"] < 1300 < lengths["Thorough"] < 2400


def test_auth_comes_first() -> None:
    api = Api(rate_limit=(1, 0.001))
    interview_id = api.interview()  # spends the only token
    for response in (
        api.anon.get("/v1/me"),
        api.anon.get("/v1/nowhere"),
        api.anon.post(f"/v1/interviews/{interview_id}/turns", content=b"{not json"),
        api.http.get("/v1/me", headers={"Authorization": "Bearer sf_wrong"}),
        api.http.get("/v1/me", headers={"Authorization": f"Basic {DEFAULT_API_KEY}"}),
    ):
        assert_error(response, 401, "UNAUTHORIZED")
    assert_error(api.get("/v1/me"), 429, "RATE_LIMITED")
    assert len(api.sim.interviews.interviews) == 1


def test_unknown_paths_and_methods() -> None:
    api = Api()
    assert_error(api.get("/v1/nowhere"), 404, "NOT_FOUND")
    assert_error(api.get("/"), 404)
    wrong = api.http.delete("/v1/me")
    assert_error(wrong, 405)
    assert wrong.headers["allow"] == "GET"
    assert_error(api.get("/v1/interviews/nope"), 404)
    assert_error(api.get("/v1/interviews/turns/nope"), 404)
    assert_error(api.get("/v1/generations/nope"), 404)
    assert_error(api.get("/v1/generations/nope/clarifications"), 404)
    assert_error(api.get("/v1/packages/nope/zip"), 404)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b'"text"',
        b'{"message": 5}',
        b'{"message": null}',
        b'{"message": NaN}',
        b"\xff\xfe{",
        b"[" * 100_000,
        b'{"message": "' + b"x" * 10 + b'"',
        b'{"message": 1' + b"0" * 5000 + b"}",
    ],
)
def test_malformed_turn_bodies_get_400(content: bytes) -> None:
    api = Api()
    interview_id = api.interview()
    response = api.post(f"/v1/interviews/{interview_id}/turns", content=content)
    assert_error(response, 400, "INVALID_REQUEST")
    assert len(api.turns(interview_id)) == 1


@pytest.mark.parametrize(
    "message", ["", " ", "\u0000", "\ud800", "🙂 𝄞 ﷽", "x" * 1_000_000, "é" * 50, "\r\n\t"]
)
def test_any_message_string_is_accepted(message: str) -> None:
    api = Api()
    interview_id = api.interview()
    body = {"message": message, "extra": {"nested": [1, 2.5, True, None]}}
    response = api.post(
        f"/v1/interviews/{interview_id}/turns",
        content=json.dumps(body).encode(),
        headers={"X-Weird": "\t;;==", "Content-Type": "text/plain; charset=whatever"},
    )
    assert response.status_code == 202
    assert api.turns(interview_id)[-1] == {"role": "user", "content": message}


def test_turn_job_lifecycle_and_ownership() -> None:
    api = Api(api_keys=(DEFAULT_API_KEY, "sf_test_other"))
    interview_id = api.interview()
    post = api.post(f"/v1/interviews/{interview_id}/turns", json={"message": "hello"})
    job_id = post.json()["job_id"]
    assert post.json() == {
        "job_id": job_id,
        "interview_id": interview_id,
        "status": "queued",
        "snapshot": None,
    }
    first = api.get(f"/v1/interviews/turns/{job_id}").json()
    assert first["status"] == "queued"
    assert set(first) == {
        "job_id",
        "interview_id",
        "status",
        "snapshot",
        "error_code",
        "error_message",
        "is_retryable",
    }
    api.clock.sleep(1.5)
    assert api.get(f"/v1/interviews/turns/{job_id}").json()["status"] == "running"
    done = api.wait_job(job_id)
    assert done["status"] == "completed" and done["error_code"] is None
    assert done["snapshot"] == api.get(f"/v1/interviews/{interview_id}").json()
    api.clock.sleep(3600)
    assert api.get(f"/v1/interviews/turns/{job_id}").json() == done
    other = {"Authorization": "Bearer sf_test_other"}
    assert_error(api.http.get(f"/v1/interviews/{interview_id}", headers=other), 404)
    assert_error(api.http.get(f"/v1/interviews/turns/{job_id}", headers=other), 404)
    # The second turn job fails, retryably, and keeps the user's turn.
    again = api.post(f"/v1/interviews/{interview_id}/turns", json={"message": "again"})
    failed = api.wait_job(again.json()["job_id"])
    assert failed["status"] == "failed" and failed["snapshot"] is None
    assert failed["error_code"] == "INTERVIEW_TURN_TIMEOUT" and failed["is_retryable"] is True
    assert api.turns(interview_id)[-1] == {"role": "user", "content": "again"}


def test_complete_is_idempotent_and_closes_the_interview() -> None:
    api = Api()
    interview_id = api.interview()
    first = api.post(f"/v1/interviews/{interview_id}/complete", content=b"{}")
    assert first.status_code == 200 and first.json()["status"] == "Completed"
    intake = first.json()["intake_artifact_id"]
    assert is_uuid(intake)
    again = api.post(f"/v1/interviews/{interview_id}/complete")
    assert again.status_code == 200 and again.json()["intake_artifact_id"] == intake
    refused = api.post(f"/v1/interviews/{interview_id}/turns", json={"message": "late"})
    assert_error(refused, 409, "INTERVIEW_COMPLETED")
    assert len(api.turns(interview_id)) == 1


def idem_post(api: Api, interview_id: str, key: str | bytes, message: str) -> httpx.Response:
    return api.post(
        f"/v1/interviews/{interview_id}/turns",
        json={"message": message},
        headers={"Idempotency-Key": key},
    )


@pytest.mark.parametrize(
    "key", ["", "a" * 129, "a b", "a/b", "ab\n", "é".encode(), "🙂".encode(), "a,b", "x" * 300]
)
def test_invalid_idempotency_keys_get_400(key: str | bytes) -> None:
    api = Api()
    interview_id = api.interview()
    assert_error(idem_post(api, interview_id, key, "hi"), 400, "INVALID_IDEMPOTENCY_KEY")
    assert len(api.turns(interview_id)) == 1


def test_idempotency_replays_conflicts_and_scope() -> None:
    api = Api(api_keys=(DEFAULT_API_KEY, "sf_test_other"))
    a, b = api.interview(), api.interview()
    key = "Az09._:-" * 16  # 128 characters, every allowed kind
    first = idem_post(api, a, key, "one")
    assert first.status_code == 202
    assert_error(idem_post(api, a, key, "one"), 409, "IDEMPOTENCY_IN_FLIGHT")
    assert_error(idem_post(api, a, key, "two"), 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(api.turns(a)) == 2
    original = api.wait_job(first.json()["job_id"])
    assert original["status"] == "completed"  # the first job of this seed succeeds
    replay = idem_post(api, a, key, "one")
    assert replay.status_code == 200
    assert replay.json() == {
        "job_id": None,
        "interview_id": a,
        "status": "completed",
        "snapshot": original["snapshot"],
    }
    assert_error(idem_post(api, a, key, "two"), 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(api.turns(a)) == 3
    # Same key elsewhere (another interview, another API key) is a new request.
    assert idem_post(api, b, key, "one").status_code == 202
    other = api.http.post(
        f"/v1/interviews/{a}/turns",
        json={"message": "one"},
        headers={"Idempotency-Key": key, "Authorization": "Bearer sf_test_other"},
    )
    assert_error(other, 404)  # the interview belongs to the first key


def test_idempotent_retry_of_a_failed_turn_is_a_new_request() -> None:
    api = Api()
    interview_id = api.interview()
    api.run_turn(interview_id, "first")  # job 1 (completes with this seed)
    failed = idem_post(api, interview_id, "turn-2", "second")  # job 2 always fails
    assert api.wait_job(failed.json()["job_id"])["status"] == "failed"
    retry = idem_post(api, interview_id, "turn-2", "second")
    assert retry.status_code == 202 and retry.json()["job_id"] != failed.json()["job_id"]
    users = [t["content"] for t in api.turns(interview_id) if t["role"] == "user"]
    assert users == ["first", "second", "second"]


@pytest.mark.parametrize(
    ("profile", "status"),
    [
        ("Fast", 202),
        ("Standard", 202),
        ("Thorough", 202),
        (0, 202),
        (1, 202),
        (2, 202),
        ("fast", 400),
        ("THOROUGH", 400),
        (" Fast", 400),
        (3, 400),
        (-1, 400),
        (None, 400),
        (True, 400),
        (False, 400),
        (1.0, 400),
        ("1", 400),
        ([0], 400),
        ({}, 400),
    ],
)
def test_review_profiles(profile: Any, status: int) -> None:
    api = Api()
    intake = api.intake()
    response = api.post("/v1/generations", json={"intake_id": intake, "review_profile": profile})
    assert response.status_code == status, response.text
    if status == 400:
        assert_error(response, 400, "INVALID_REVIEW_PROFILE")
        assert api.sim.generations.generations == {}
    else:
        assert set(response.json()) == set(STATUS_KEYS)
        assert response.json()["state"] == "Queued"


def test_generation_request_checks() -> None:
    api = Api(api_keys=(DEFAULT_API_KEY, "sf_test_other"))
    intake = api.intake()
    default = api.post("/v1/generations", json={"intake_id": intake})
    assert default.status_code == 202
    assert api.sim.generations.generations[default.json()["id"]].profile == "Standard"
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_error(api.post("/v1/generations", json={"intake_id": unknown}), 404, "INTAKE_NOT_FOUND")
    assert_error(
        api.post("/v1/generations", json={"intake_id": unknown, "review_profile": 9}),
        400,
        "INVALID_REVIEW_PROFILE",
    )
    assert_error(api.post("/v1/generations", json={"intake_id": 5}), 400, "INVALID_REQUEST")
    other = api.http.post(
        "/v1/generations",
        json={"intake_id": intake},
        headers={"Authorization": "Bearer sf_test_other"},
    )
    assert_error(other, 404, "INTAKE_NOT_FOUND")


def test_clarification_batches_are_all_or_nothing() -> None:
    api = Api()
    generation_id = api.generation()
    answers_url = f"/v1/generations/{generation_id}/clarifications/answers"
    assert_error(api.post(answers_url, json={"answers": []}), 409, "NOT_AWAITING_CLARIFICATION")
    api.until(generation_id, PAUSED)
    listing = api.get(f"/v1/generations/{generation_id}/clarifications").json()
    assert listing["state"] == PAUSED and 2 <= len(listing["clarifications"]) <= 3
    assert any(c["proposedDefault"] is None for c in listing["clarifications"])
    questions = [c["question"] for c in listing["clarifications"]]

    def batch(texts: list[str]) -> dict[str, Any]:
        return {"answers": [{"question": q, "answer": "yes"} for q in texts]}

    for wrong in (
        questions[:-1],
        [*questions, "Anything else?"],
        [*questions, questions[0]],
        [questions[0].swapcase(), *questions[1:]],
        [questions[0] + " ", *questions[1:]],
        [questions[0].replace("?", ""), *questions[1:]],
        [unicodedata.normalize("NFKD", q) for q in questions],
    ):
        if wrong == questions:
            continue
        assert_error(api.post(answers_url, json=batch(wrong)), 422, "CLARIFICATION_MISMATCH")
        assert api.get(f"/v1/generations/{generation_id}/clarifications").json() == listing
    for malformed in ({"answers": "no"}, {"answers": [1]}, {"answers": [{"question": "q"}]}, {}):
        assert 400 <= api.post(answers_url, json=malformed).status_code < 500
    accepted = api.post(answers_url, json=batch(list(reversed(questions))))
    assert accepted.json() == {"state": PAUSED, "accepted": len(questions)}
    # Paused, list unchanged, until the dispatcher's next 10-second tick.
    assert api.get(f"/v1/generations/{generation_id}/clarifications").json() == listing
    resume_at = (api.clock.now() // 10 + 1) * 10
    api.clock.sleep(resume_at - api.clock.now() - 0.001)
    assert api.get(f"/v1/generations/{generation_id}").json()["state"] == PAUSED
    api.clock.sleep(0.002)
    assert api.get(f"/v1/generations/{generation_id}").json()["state"] == "Running"
    assert api.get(f"/v1/generations/{generation_id}/clarifications").json() == {
        "state": "Running",
        "clarifications": [],
    }
    assert_error(api.post(answers_url, json=batch(questions)), 409, "NOT_AWAITING_CLARIFICATION")


def test_a_variant_may_pause_twice_asking_something_new() -> None:
    """The document's `Running ⇄ PausedAwaitingClarification`: variant 2
    pauses a second time, never with exactly the questions just answered."""
    api = Api(variant=2)
    assert api.sim.choices.pauses == 2
    generation_id, asked, states = api.generation("Fast"), [], []
    while (state := api.get(f"/v1/generations/{generation_id}").json()["state"]) != "Complete":
        if state == PAUSED and (not states or states[-1] != PAUSED):
            listing = api.get(f"/v1/generations/{generation_id}/clarifications").json()
            asked.append({c["question"] for c in listing["clarifications"]})
            assert api.answer_all(generation_id).status_code == 200
        states.append(state)
        api.clock.sleep(2)
    assert len(asked) == 2 and asked[0] != asked[1]
    assert [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s].count(PAUSED) == 2


def test_package_links_are_signed_and_expire() -> None:
    api = Api(base="http://127.0.0.1:8123")
    generation_id = api.generation()
    api.until(generation_id, PAUSED)
    api.answer_all(generation_id)
    package_id = api.until(generation_id, "Complete")["package_id"]
    location = api.get(f"/v1/packages/{package_id}/zip").headers["location"]
    assert location.startswith(f"http://127.0.0.1:8123/_blob/packages/{package_id}.zip?se=")
    assert api.anon.get(location).status_code == 200
    for tampered in (
        location.replace("sig=", "sig=0"),
        location.split("?")[0],
        location.replace("sp=r", "sp=w"),
    ):
        assert_error(api.anon.get(tampered), 403)
    api.clock.sleep(601)
    assert_error(api.anon.get(location), 403)
    assert api.anon.get(api.get(f"/v1/packages/{package_id}/zip").headers["location"]).is_success


def test_rate_limit_refuses_without_effect_and_retry_after_is_honest() -> None:
    api = Api(rate_limit=(3, 0.5))
    interview_id = api.interview()
    accepted = [
        api.post(f"/v1/interviews/{interview_id}/turns", json={"message": m}) for m in ("a", "b")
    ]
    assert [r.status_code for r in accepted] == [202, 202]
    refused = api.post(f"/v1/interviews/{interview_id}/turns", json={"message": "c"})
    assert_error(refused, 429, "RATE_LIMITED")
    assert refused.headers["retry-after"] == "2"
    turns_url = f"/v1/interviews/{interview_id}/turns"
    api.clock.sleep(1.9)
    assert api.post(turns_url, json={"message": "c"}).status_code == 429
    api.clock.sleep(0.1)
    assert api.post(turns_url, json={"message": "c"}).status_code == 202
    assert api.anon.get("/_blob/packages/x.zip").status_code == 403  # not rate-limited
    api.clock.sleep(10)
    assert [t["content"] for t in api.turns(interview_id) if t["role"] == "user"] == ["a", "b", "c"]


def test_determinism_and_threads() -> None:
    def transcript(seed: int) -> list[bytes]:
        api = Api(seed=seed)
        generation_id = api.generation()
        record = api.until(generation_id, PAUSED)
        return [
            json.dumps(record).encode(),
            api.answer_all(generation_id).content,
            api.get(f"/v1/generations/{generation_id}/clarifications").content,
        ]

    assert transcript(11) == transcript(11)
    assert transcript(11) != transcript(12)
    api = Api()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(20):
                interview_id = api.interview()
                api.post(f"/v1/interviews/{interview_id}/turns", json={"message": "hi"})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(api.sim.interviews.interviews) == 80 and len(api.sim.interviews.jobs) == 80
