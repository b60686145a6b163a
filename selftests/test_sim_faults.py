"""The simulator fault audit: one scripted run through every endpoint records which
`SS-*` rules were broken. The conforming simulator breaks none; each named fault
breaks exactly its own rule and no other."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from jobcontracts.sims.specstep import FAULTS

from .sim_kit import (
    AUTH,
    BASE,
    ISO_RE,
    MOVES,
    PAUSED,
    STATES,
    STATUS_KEYS,
    TERMINAL,
    Api,
    body_of,
    is_int,
    is_number,
    is_uuid,
)

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
                "SS-TURN-4",
                status in ("queued", "running", "completed", "failed")
                and is_uuid(view["job_id"]) and is_uuid(view["interview_id"]),
                f"{status} job {view['job_id']!r} of {view['interview_id']!r}",
            )
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
            self.flag("SS-TURN-0", post.status_code == 202, f"a fresh turn got {post.status_code}")
            assert post.status_code in (200, 202) and body_of(post)["job_id"], post.text
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
        turns = body_of(created)["turns"]
        self.flag(
            "SS-INT-0",
            is_uuid(a) and body_of(created)["status"] == "Active"
            and bool(turns) and turns[0].get("role") == "agent",
            f"created {created.text[:80]}",
        )
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
        self.flag("SS-TURN-0", elsewhere.status_code == 202, "b's first turn, a key new to b")
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

    def remaining(self) -> int | None:
        me = self.send("GET", "/v1/me")
        self.flag("SS-AUTH-2", me.status_code == 200, f"GET /v1/me -> {me.status_code}")
        return int(body_of(me)["generations_remaining"]) if me.status_code == 200 else None

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
        after = self.remaining()
        if before is not None and after is not None:
            self.flag("SS-GEN-2", before - after == created, "a refused POST created")
        unknown = self.send(
            "POST",
            "/v1/generations",
            json={"intake_id": "00000000-0000-4000-8000-000000000000", "review_profile": "Fast"},
        )
        self.flag("SS-GEN-3", unknown.status_code == 404, f"{unknown.status_code}")
        return main

    def check_record(self, prev: dict[str, Any] | None, rec: dict[str, Any]) -> None:
        self.flag("SS-PROJ-0", all(key in rec for key in STATUS_KEYS), f"keys {sorted(rec)}")
        self.flag("SS-PROJ-8", is_uuid(rec.get("id")), f"id {rec.get('id')!r}")
        for key in ("phase_detail", "progress_explanation", "billing_state",
                    "recoverable_error_category"):
            self.flag("SS-PROJ-8", rec.get(key) is None or isinstance(rec[key], str),
                      f"{key} {rec.get(key)!r}")
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
        answered = False  # a wrong batch a fault accepted answers the pause
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
            answered = answered or response.status_code == 200
            after = body_of(self.send("GET", url))
            self.flag(
                "SS-CLAR-3",
                response.status_code == 422 and after == listing,
                f"{change}: {response.status_code}",
            )
            listing = after
        qs = [c["question"] for c in listing["clarifications"]]
        if answered:
            return
        self.flag("SS-CLAR-2", self.answers(generation_id, qs).status_code == 200, "refused")
        again = self.answers(generation_id, qs)  # answered, not yet resumed
        self.flag("SS-CLAR-4", again.status_code == 409, f"a second batch got {again.status_code}")

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
                "SS-CLAR-5",
                all(isinstance(c, dict) and {"agent", "section", "question", "why",
                                             "proposedDefault"} <= c.keys()
                    for c in listing["clarifications"]),
                f"{listing['clarifications']!r:.80}",
            )
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
            status = self.send(
                "POST", f"/v1/interviews/{interview_id}/turns", api, json={"message": message}
            ).status_code
            self.flag("SS-TURN-0", status == 202, f"a fresh turn got {status}")
            assert status in (200, 202)
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
        later = self.send("GET", f"/v1/interviews/{interview_id}", api)
        if later.status_code == 429:  # a limit that never lifts: SS-RATE-3's, flagged above
            self.flag("SS-RATE-3", False, "still refused 700 s later")
            return
        turns = body_of(later)["turns"]
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
    assert set(broken) == FAULTS[name].rules, broken
