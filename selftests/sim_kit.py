"""Shared helpers for the simulator selftests: a small API client and checks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, TypeGuard

import httpx

from jobcontracts.clock import VirtualClock
from jobcontracts.sims.specstep import DEFAULT_API_KEY, SpecStepSimulator

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
        variant: int = 0,
    ) -> None:
        self.clock = VirtualClock()
        self.sim = SpecStepSimulator(
            clock=self.clock,
            seed=seed,
            variant=variant,
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
