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
from collections.abc import Iterable
from typing import Any, TypeGuard

import httpx
import pytest

from jobcontracts.clock import VirtualClock
from jobcontracts.sims.specstep import DEFAULT_API_KEY, FAULTS, Fault, SpecStepSimulator

BASE = "https://specstep.sim"
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
STATUS_KEYS = (
    "id",
    "state",
    "package_id",
    "progress_percent",
    "phase_detail",
    "progress_explanation",
    "running_cost_usd",
    "billing_state",
    "estimated_time_remaining_seconds",
    "estimated_completion_at",
    "retry_count",
    "recoverable_error_category",
    "next_retry_at",
    "host_restart_resume_count",
)
STATES = {"Queued", "Running", "PausedAwaitingClarification", "Complete", "Failed", "Cancelled"}
TERMINAL = {"Complete", "Failed", "Cancelled"}
PAUSED = "PausedAwaitingClarification"
MOVES = {("Queued", "Running"), ("Running", PAUSED), (PAUSED, "Running"), ("Running", "Complete")}


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and UUID_RE.match(value) is not None


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def body_of(response: httpx.Response) -> Any:
    """The JSON body, whatever the Content-Type says."""
    return json.loads(response.content)


class Api:
    """A simulator on a virtual clock with an authenticated client."""

    def __init__(
        self,
        faults: Iterable[str] = (),
        *,
        seed: int = 7,
        rate_limit: tuple[float, float] | None = None,
        api_keys: tuple[str, ...] = (DEFAULT_API_KEY,),
        base: str = BASE,
    ) -> None:
        self.clock = VirtualClock()
        self.sim = SpecStepSimulator(
            clock=self.clock,
            seed=seed,
            faults=set(faults),
            api_keys=api_keys,
            rate_limit=rate_limit,
        )
        transport = httpx.MockTransport(self.sim.handle)
        self.http = httpx.Client(base_url=base, transport=transport, headers=AUTH)
        self.anon = httpx.Client(base_url=base, transport=transport)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, **kw)

    def interview(self) -> str:
        response = self.post("/v1/interviews")
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def turns(self, interview_id: str) -> list[dict[str, str]]:
        turns: list[dict[str, str]] = self.get(f"/v1/interviews/{interview_id}").json()["turns"]
        return turns

    def wait_job(self, job_id: str) -> dict[str, Any]:
        for _ in range(10):
            view: dict[str, Any] = self.get(f"/v1/interviews/turns/{job_id}").json()
            if view["status"] in ("completed", "failed"):
                return view
            self.clock.sleep(3)
        raise AssertionError(f"turn job {job_id} never finished")

    def run_turn(self, interview_id: str, message: str) -> dict[str, Any]:
        """The document's submit_turn, resubmitting after a retryable failure."""
        for _ in range(10):
            post = self.post(f"/v1/interviews/{interview_id}/turns", json={"message": message})
            assert post.status_code == 202, post.text
            view = self.wait_job(post.json()["job_id"])
            if view["status"] == "completed":
                snapshot: dict[str, Any] = view["snapshot"]
                return snapshot
            assert view["is_retryable"] is True
        raise AssertionError("turn kept failing")

    def intake(self) -> str:
        interview_id = self.interview()
        self.run_turn(interview_id, "I want to build a customer-feedback portal.")
        assert self.post(f"/v1/interviews/{interview_id}/complete").status_code == 200
        return str(self.get(f"/v1/interviews/{interview_id}").json()["intake_artifact_id"])

    def generation(self, profile: Any = "Fast") -> str:
        response = self.post(
            "/v1/generations", json={"intake_id": self.intake(), "review_profile": profile}
        )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def until(self, generation_id: str, state: str, step: float = 5.0) -> dict[str, Any]:
        for _ in range(2000):
            record: dict[str, Any] = self.get(f"/v1/generations/{generation_id}").json()
            if record["state"] == state:
                return record
            self.clock.sleep(step)
        raise AssertionError(f"generation never reached {state}")

    def answer_all(self, generation_id: str) -> httpx.Response:
        pending = self.get(f"/v1/generations/{generation_id}/clarifications").json()
        answers = [
            {"question": c["question"], "answer": c["proposedDefault"] or "Your call."}
            for c in pending["clarifications"]
        ]
        return self.post(
            f"/v1/generations/{generation_id}/clarifications/answers", json={"answers": answers}
        )


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert isinstance(error["message"], str)
    if code is not None:
        assert error["code"] == code


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
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", name) for name in FAULTS)
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


# =========================================================================== the audit


class Audit:
    """One scripted run through every endpoint; `broken` maps each violated
    `SS-*` rule to what was seen. Expectations no fault may break are plain
    asserts."""

    def __init__(self, faults: Iterable[str]) -> None:
        self.faults = set(faults)
        self.api = Api(self.faults)
        self.broken: dict[str, list[str]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}

    def flag(self, rule: str, ok: bool, detail: str) -> None:
        if not ok:
            self.broken.setdefault(rule, []).append(detail)

    def send(
        self, method: str, path: str, api: Api | None = None, *, anon: bool = False, **kw: Any
    ) -> httpx.Response:
        """One request, checked against the generic rules (SS-HTTP-1, SS-ERR-1)."""
        api = api or self.api
        headers = {} if anon else dict(AUTH)
        headers.update(kw.pop("headers", {}))
        url = path if path.startswith("http") else BASE + path
        # Straight into the simulator's handler: the same httpx.Request a
        # client would send, without the client's per-request overhead.
        response = api.sim.handle(httpx.Request(method, url, headers=headers, **kw))
        where = f"{method} {path} -> {response.status_code}"
        self.flag("SS-HTTP-1", response.status_code < 500, where)
        content_type = response.headers.get("content-type", "")
        if not (response.status_code == 200 and content_type == "application/zip"):
            self.flag("SS-HTTP-1", content_type.split(";")[0] == "application/json", where)
        if 400 <= response.status_code < 500:
            error = body_of(response).get("error")
            self.flag(
                "SS-ERR-1",
                isinstance(error, dict)
                and isinstance(error.get("code"), str)
                and isinstance(error.get("message"), str),
                where,
            )
        return response

    def users(self, interview_id: str) -> int:
        """How many user turns are committed (agent replies arrive on their own)."""
        turns = body_of(self.send("GET", f"/v1/interviews/{interview_id}"))["turns"]
        return sum(turn["role"] == "user" for turn in turns)

    def turn(
        self, interview_id: str, message: str, key: str | bytes | None = None
    ) -> httpx.Response:
        headers = {} if key is None else {"Idempotency-Key": key}
        return self.send(
            "POST",
            f"/v1/interviews/{interview_id}/turns",
            json={"message": message},
            headers=headers,
        )

    def wait_job(self, job_id: str) -> dict[str, Any]:
        for _ in range(10):
            view: dict[str, Any] = body_of(self.send("GET", f"/v1/interviews/turns/{job_id}"))
            status, failed = view["status"], view["status"] == "failed"
            self.flag(
                "SS-TURN-1",
                (view["snapshot"] is not None) == (status == "completed"),
                f"{status} job with snapshot {view['snapshot']!r:.40}",
            )
            self.flag(
                "SS-TURN-2",
                (view["error_code"] is not None) == failed
                and (view["is_retryable"] is not None) == failed,
                f"{view}",
            )
            if status in ("completed", "failed"):
                self.jobs[job_id] = view
                return view
            self.api.clock.sleep(3)
        raise AssertionError(f"turn job {job_id} never finished")

    def settle(self) -> None:
        self.api.clock.sleep(10)  # every turn job ends within 8 s

    def run_turn(self, interview_id: str, message: str, key: str | None = None) -> dict[str, Any]:
        for _ in range(10):
            post = self.turn(interview_id, message, key)
            assert post.status_code == 202, post.text
            view = self.wait_job(body_of(post)["job_id"])
            if view["status"] == "completed":
                now = body_of(self.send("GET", f"/v1/interviews/{interview_id}"))
                self.flag("SS-TURN-1", view["snapshot"] == now, "snapshot is not the interview")
                return view
        raise AssertionError("turn kept failing")

    # ------------------------------------------------------------------ interviews

    def interviews(self) -> tuple[str, str]:
        created = self.send("POST", "/v1/interviews")
        assert created.status_code == 201
        a = body_of(created)["id"]
        self.run_turn(a, "I want to build a customer-feedback portal.")
        astral = self.turn(a, "Emoji 🙂 and music 𝄞")
        if astral.status_code == 202:
            self.wait_job(body_of(astral)["job_id"])
        # SS-IDEM-1
        count = self.users(a)
        for bad in ("", "a" * 129, "a b", "a/b", "é".encode()):
            self.flag("SS-IDEM-1", self.turn(a, "bad key", bad).status_code == 400, f"{bad!r}")
        self.settle()
        self.flag("SS-IDEM-1", self.users(a) == count, "a bad key committed a turn")
        self.flag(
            "SS-IDEM-1",
            self.turn(a, "good key", "Az09._:-" * 16).status_code == 202,
            "a 128-character key was refused",
        )
        self.settle()
        # SS-IDEM-2: replay after completion.
        original = self.run_turn(a, "replay me", key="idem-2")
        count = self.users(a)
        replay = self.turn(a, "replay me", "idem-2")
        self.flag(
            "SS-IDEM-2",
            replay.status_code == 200
            and body_of(replay)["job_id"] is None
            and body_of(replay)["snapshot"] == original["snapshot"],
            replay.text[:80],
        )
        self.settle()
        self.flag("SS-IDEM-2", self.users(a) == count, "the replay committed a turn")
        # SS-IDEM-3 and SS-IDEM-4 while in flight, then SS-IDEM-4 after the end.
        count = self.users(a)
        assert self.turn(a, "in flight", "idem-3").status_code == 202
        self.flag("SS-IDEM-3", self.turn(a, "in flight", "idem-3").status_code == 409, "")
        self.flag("SS-IDEM-4", self.turn(a, "other body", "idem-3").status_code == 422, "")
        self.settle()
        self.flag(
            "SS-IDEM-3",
            self.users(a) == count + 1 or "SS-IDEM-4" in self.broken,
            "the in-flight retry committed a turn",
        )
        count = self.users(a)
        self.flag("SS-IDEM-4", self.turn(a, "other body", "idem-2").status_code == 422, "")
        self.settle()
        self.flag("SS-IDEM-4", self.users(a) == count, "a reused key committed a turn")
        # SS-IDEM-5: the same key on another interview is a new request.
        b = body_of(self.send("POST", "/v1/interviews"))["id"]
        elsewhere = self.turn(b, "replay me", "idem-2")
        self.flag(
            "SS-IDEM-5",
            elsewhere.status_code == 202 and self.users(b) == 1,
            f"{elsewhere.status_code}",
        )
        self.settle()
        return a, b

    def complete(self, a: str) -> str | None:
        assert self.send("POST", f"/v1/interviews/{a}/complete").status_code == 200
        first = body_of(self.send("GET", f"/v1/interviews/{a}"))
        assert first["status"] == "Completed"
        self.flag("SS-INT-1", is_uuid(first["intake_artifact_id"]), "no intake id")
        again = self.send("POST", f"/v1/interviews/{a}/complete")
        second = body_of(self.send("GET", f"/v1/interviews/{a}"))
        self.flag(
            "SS-INT-2",
            again.status_code == 200
            and second["intake_artifact_id"] == first["intake_artifact_id"],
            "new intake",
        )
        count = self.users(a)
        late = self.turn(a, "too late")
        self.settle()
        self.flag("SS-INT-3", late.status_code == 409 and self.users(a) == count, "")
        intake = second["intake_artifact_id"]
        return intake if is_uuid(intake) else None

    # ------------------------------------------------------------------ generations

    def remaining(self) -> int:
        return int(body_of(self.send("GET", "/v1/me"))["generations_remaining"])

    def generations(self, intake: str) -> str:
        before, created, main = self.remaining(), 0, ""
        for profile in ("Fast", "Standard", "Thorough", 0, 1, 2):
            response = self.send(
                "POST", "/v1/generations", json={"intake_id": intake, "review_profile": profile}
            )
            self.flag("SS-GEN-1", response.status_code == 202, f"{profile!r} refused")
            if response.status_code == 202:
                created += 1
                self.check_record(None, body_of(response))
                main = main or body_of(response)["id"]
        bad: Any
        for bad in ("fast", "STANDARD", 3, -1, None, True, 1.5, ""):
            response = self.send(
                "POST", "/v1/generations", json={"intake_id": intake, "review_profile": bad}
            )
            self.flag("SS-GEN-2", response.status_code == 400, f"{bad!r} accepted")
        self.flag("SS-GEN-2", before - self.remaining() == created, "a refused POST created")
        unknown = self.send(
            "POST",
            "/v1/generations",
            json={"intake_id": "00000000-0000-4000-8000-000000000000", "review_profile": "Fast"},
        )
        self.flag("SS-GEN-3", unknown.status_code == 404, f"{unknown.status_code}")
        return main

    def check_record(self, prev: dict[str, Any] | None, rec: dict[str, Any]) -> None:
        self.flag("SS-PROJ-0", all(key in rec for key in STATUS_KEYS), f"keys {sorted(rec)}")
        state, package = rec.get("state"), rec.get("package_id")
        progress = rec.get("progress_percent")
        self.flag("SS-PROJ-1", state in STATES, f"state {state!r}")
        self.flag(
            "SS-PROJ-2",
            is_uuid(package) if state == "Complete" else package is None,
            f"{state} with package_id {package}",
        )
        self.flag(
            "SS-PROJ-3",
            is_int(progress) and 0 <= progress <= 100 and (state != "Complete" or progress == 100),
            f"progress {progress}",
        )
        for key in ("retry_count", "host_restart_resume_count"):
            self.flag("SS-PROJ-4", is_int(rec.get(key)) and rec[key] >= 0, f"{key} {rec.get(key)}")
        cost = rec.get("running_cost_usd")
        self.flag("SS-PROJ-4", is_number(cost) and cost >= 0, f"cost {cost}")
        eta = rec.get("estimated_time_remaining_seconds")
        self.flag("SS-PROJ-5", eta is None or (is_number(eta) and eta >= 0), f"eta {eta}")
        self.flag("SS-PROJ-5", state not in TERMINAL or eta in (None, 0), f"{state} eta {eta}")
        for key in ("estimated_completion_at", "next_retry_at"):
            value = rec.get(key)
            self.flag("SS-PROJ-5", value is None or bool(ISO_RE.match(value)), f"{key} {value}")
        self.flag(
            "SS-PROJ-6",
            rec.get("next_retry_at") is None or rec.get("recoverable_error_category") is not None,
            "next_retry_at alone",
        )
        if prev is None:
            return
        was = prev.get("state")
        if was in TERMINAL:
            self.flag(
                "SS-PROJ-1",
                state == was and package == prev.get("package_id"),
                f"{was}/{prev.get('package_id')} -> {state}/{package}",
            )
        if was in STATES and state in STATES and was != state:
            self.flag("SS-PROJ-7", (was, state) in MOVES, f"{was} -> {state}")
        self.flag(
            "SS-PROJ-3",
            progress >= prev["progress_percent"],
            f"{prev['progress_percent']} -> {progress}",
        )
        for key in ("retry_count", "host_restart_resume_count", "running_cost_usd"):
            self.flag("SS-PROJ-4", rec[key] >= prev[key], f"{key} {prev[key]} -> {rec[key]}")

    def answers(self, generation_id: str, questions: list[str]) -> httpx.Response:
        return self.send(
            "POST",
            f"/v1/generations/{generation_id}/clarifications/answers",
            json={"answers": [{"question": q, "answer": "ok"} for q in questions]},
        )

    def clarify(self, generation_id: str, listing: dict[str, Any]) -> None:
        """Send wrong batches (SS-CLAR-3), then the right one (SS-CLAR-2)."""
        url = f"/v1/generations/{generation_id}/clarifications"
        for change in ("omit", "unknown", "repeat", "space", "punctuation", "nfd", "case"):
            qs = [c["question"] for c in listing["clarifications"]]
            wrong = {
                "omit": qs[:-1],
                "unknown": [*qs, "Anything else?"],
                "repeat": [*qs, qs[0]],
                "space": [qs[0] + " ", *qs[1:]],
                "punctuation": [qs[0].rstrip("?"), *qs[1:]],
                "nfd": [unicodedata.normalize("NFD", q) for q in qs],
                "case": [qs[0].swapcase(), *qs[1:]],
            }[change]
            if wrong == qs:
                continue
            response = self.answers(generation_id, wrong)
            after = body_of(self.send("GET", url))
            self.flag(
                "SS-CLAR-3",
                response.status_code == 422 and after == listing,
                f"{change}: {response.status_code}",
            )
            listing = after
        qs = [c["question"] for c in listing["clarifications"]]
        self.flag("SS-CLAR-2", self.answers(generation_id, qs).status_code == 200, "refused")

    def timeline(self, generation_id: str) -> dict[str, Any] | None:
        prev: dict[str, Any] | None = None
        answered_at: float | None = None
        probed = False
        clock = self.api.clock
        for _ in range(1000):
            rec: dict[str, Any] = body_of(self.send("GET", f"/v1/generations/{generation_id}"))
            self.check_record(prev, rec)
            listing = body_of(self.send("GET", f"/v1/generations/{generation_id}/clarifications"))
            state = rec.get("state")
            self.flag(
                "SS-CLAR-1",
                listing["state"] == state and bool(listing["clarifications"]) == (state == PAUSED),
                f"{state}",
            )
            if state in ("Running", "running") and not probed:
                probed = True
                self.flag("SS-CLAR-4", self.answers(generation_id, ["x"]).status_code == 409, "")
            if state == PAUSED and answered_at is None:
                if not listing["clarifications"]:
                    return None  # nothing to answer with
                self.clarify(generation_id, listing)
                answered_at = clock.now()
            elif state == PAUSED and answered_at is not None and clock.now() - answered_at > 30:
                self.flag("SS-CLAR-2", False, "still paused 30 s after the answers")
                return None
            if state == "Complete":
                for wait in (30, 40):
                    clock.sleep(wait)
                    later = body_of(self.send("GET", f"/v1/generations/{generation_id}"))
                    self.check_record(rec, later)
                self.flag("SS-CLAR-4", self.answers(generation_id, ["x"]).status_code == 409, "")
                return rec
            prev = rec
            # Every 10 s; every 5 s around the resume, not to miss a one-tick state.
            near_resume = answered_at is not None and clock.now() - answered_at < 40
            clock.sleep(5 if near_resume else 10)
        raise AssertionError("the generation never finished")

    def package(self, package_id: str) -> None:
        redirect = self.send("GET", f"/v1/packages/{package_id}/zip")
        assert redirect.status_code == 302
        location = redirect.headers["location"]
        blob = self.send("GET", location, anon=True)
        ok = blob.status_code == 200 and zipfile.is_zipfile(io.BytesIO(blob.content))
        self.flag("SS-PKG-1", ok, f"{blob.status_code}")
        tampered = self.send("GET", location.replace("sig=", "sig=0"), anon=True)
        assert 400 <= tampered.status_code < 500

    # ------------------------------------------------------------------ auth, rate

    def auth(self, b: str, generation_id: str, package_id: str | None) -> None:
        count = self.users(b)
        job = next(iter(self.jobs))
        gets = [
            "/v1/me",
            f"/v1/interviews/{b}",
            f"/v1/interviews/turns/{job}",
            f"/v1/generations/{generation_id}",
            f"/v1/generations/{generation_id}/clarifications",
        ]
        if package_id:
            gets.append(f"/v1/packages/{package_id}/zip")
        posts = [
            ("/v1/interviews", None),
            (f"/v1/interviews/{b}/turns", {"message": "x"}),
            ("/v1/generations", {"intake_id": "x"}),
            (f"/v1/interviews/{b}/complete", None),
        ]
        for headers in ({}, {"Authorization": "Bearer sf_wrong"}):
            for path in gets:
                response = self.send("GET", path, anon=True, headers=headers)
                self.flag("SS-AUTH-1", response.status_code == 401, f"GET {path}")
            for path, body in posts:
                response = self.send("POST", path, anon=True, headers=headers, json=body)
                self.flag("SS-AUTH-1", response.status_code == 401, f"POST {path}")
        after = body_of(self.send("GET", f"/v1/interviews/{b}"))
        self.flag("SS-AUTH-1", self.users(b) == count and after["status"] == "Active", "")

    def rate_limits(self) -> None:
        api = Api(self.faults, rate_limit=(3, 0.5))
        interview_id = body_of(self.send("POST", "/v1/interviews", api))["id"]
        for message in ("rl-1", "rl-2"):
            assert (
                self.send(
                    "POST", f"/v1/interviews/{interview_id}/turns", api, json={"message": message}
                ).status_code
                == 202
            )
        served = False
        for _ in range(5):
            response = self.send(
                "POST", f"/v1/interviews/{interview_id}/turns", api, json={"message": "rl-3"}
            )
            if response.status_code != 429:
                served = True
                break
            retry_after = response.headers.get("retry-after", "")
            self.flag(
                "SS-RATE-1",
                retry_after.isdigit() and int(retry_after) <= 3600,
                f"Retry-After {retry_after!r}",
            )
            api.clock.sleep(int(retry_after) if retry_after.isdigit() else 30)
        self.flag("SS-RATE-3", served, "still refused after honouring Retry-After 5 times")
        api.clock.sleep(700)
        turns = body_of(self.send("GET", f"/v1/interviews/{interview_id}", api))["turns"]
        users = [t["content"] for t in turns if t["role"] == "user"]
        self.flag("SS-RATE-2", users == ["rl-1", "rl-2", "rl-3"][: 3 if served else 2], f"{users}")

    def run(self) -> dict[str, list[str]]:
        a, b = self.interviews()
        intake = self.complete(a)
        generation_id, package_id = "", None
        if intake is not None:
            generation_id = self.generations(intake)
            final = self.timeline(generation_id)
            if final is not None:
                package_id = final["package_id"]
                self.package(package_id)
        self.auth(b, generation_id or "none", package_id)
        self.rate_limits()
        for job_id, view in self.jobs.items():  # SS-TURN-3, long after every job ended
            later = body_of(self.send("GET", f"/v1/interviews/turns/{job_id}"))
            self.flag("SS-TURN-3", later == view, f"{view['status']} -> {later['status']}")
        return self.broken


def test_audit_of_the_conforming_simulator_is_clean() -> None:
    assert Audit(()).run() == {}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_breaks_exactly_its_rule(name: str) -> None:
    broken = Audit({name}).run()
    assert set(broken) == {FAULTS[name].rule}, broken
