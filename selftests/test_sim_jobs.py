"""Self-tests of the embedded convert/goal jobs simulator (jobcontracts.sims.jobs).

- direct calls showing the conforming behaviour of every endpoint: happy
  paths and refusals, each test-mode branch reaching its state, strict model
  keys, datetimes with a zone, rate limits;
- the event channel: a whole lawful stream to the terminal event, closed with
  1000, and `after_seq` resumption;
- one direct check per named fault, showing it changes behaviour for its rule.

Everything runs in process on a VirtualClock, through httpx.MockTransport.
"""

from __future__ import annotations

import inspect
import itertools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobcontracts.clock import VirtualClock
from jobcontracts.sims.common import TokenBucket
from jobcontracts.sims.jobs import (
    BASE_URL,
    DEFAULT_API_KEY,
    FAULTS,
    EventChannel,
    Fault,
    JobsSimulator,
)
from jobcontracts.sims.pos import PosSimulator

SPEC = Path(__file__).resolve().parents[1] / "specs" / "CONTRACT-DEFAULTS.md"
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
ISO_ZONED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")
FILE_KEYS = {"file_id", "filename", "size", "content_type", "created_at", "job_id", "is_input"}
CONVERT_KEYS = {"job_id", "status", "processor_type", "progress", "progress_message",
                "result_files", "error", "retry_count", "created_at", "updated_at",
                "started_at", "completed_at", "estimated_duration"}
GOAL_KEYS = {"job_spec_id", "status", "progress", "item_version", "attempt_id", "goal_text",
             "workflow_id", "file_ids", "pending_slots", "filled_slots", "pending_interrupts",
             "agent_message", "error_message", "error_code", "created_at", "updated_at",
             "started_at", "completed_at"}
SLOT_KEYS = {"slot_id", "slot_type", "question", "options", "required", "is_disambiguation",
             "suggested_value", "suggested_confidence"}
EVENT_TYPES = {"tool_started", "tool_finished", "agent_step_started", "agent_step_finished",
               "orchestration_transition", "status", "progress", "completed", "failed",
               "slot_needed", "keepalive", "agent_text", "agent_text_done"}
GOAL_TERMINAL = {"completed", "partial", "failed", "cancelled"}
GOAL_ORDER = ["draft", "created", "analyzing", "slots_pending", "ready", "confirmed", "queued",
              "executing"]


class Api:
    """A simulator on a virtual clock with an authenticated client."""

    def __init__(self, faults: set[str] | None = None, *, variant: int = 0,
                 rate_limit: Any = None, seed: int = 7) -> None:
        self.clock = VirtualClock()
        self.sim = JobsSimulator(clock=self.clock, seed=seed, faults=faults or set(),
                                 variant=variant, rate_limit=rate_limit)
        self.client = httpx.Client(base_url=BASE_URL, transport=httpx.MockTransport(
            self.sim.handle), headers=AUTH)
        self.anonymous = httpx.Client(base_url=BASE_URL,
                                      transport=httpx.MockTransport(self.sim.handle))

    def upload(self, name: str = "report.pdf", data: bytes = b"%PDF-1.7 hello",
               content_type: str | None = "application/pdf") -> dict[str, Any]:
        response = self.client.post("/v1/files", files={"file": (name, data, content_type)})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def convert(self, name: str = "report.pdf", processor: str = "pdf_to_text") -> str:
        file_id = self.upload(name)["file_id"]
        response = self.client.post("/v1/convert", json={"file_ids": [file_id],
                                                         "processor_type": processor})
        assert response.status_code == 202, response.text
        return str(response.json()["job_id"])

    def poll_convert(self, job_id: str, seconds: float = 60.0) -> list[dict[str, Any]]:
        return self._poll(f"/v1/convert/{job_id}", seconds,
                          lambda r: r["status"] in ("completed", "failed"))

    def goal(self, text: str = "summarise the quarter", **extra: Any) -> str:
        response = self.client.post("/v1/goals", json={"goal_text": text, "file_ids": [],
                                                       **extra})
        assert response.status_code == 202, response.text
        return str(response.json()["job_spec_id"])

    def poll_goal(self, goal_id: str, until: Callable[[dict[str, Any]], bool],
                  seconds: float = 30.0) -> list[dict[str, Any]]:
        return self._poll(f"/v1/goals/{goal_id}", seconds, until)

    def _poll(self, path: str, seconds: float,
              done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        records = []
        for _ in range(int(seconds / 0.25)):
            response = self.client.get(path)
            assert response.status_code == 200, response.text
            records.append(response.json())
            if done(records[-1]):
                return records
            self.clock.advance(0.25)
        raise AssertionError(f"{path} never got there: {records[-1]}")

    def run_goal(self, text: str) -> tuple[str, list[dict[str, Any]]]:
        """A goal driven to its end: slots filled, confirmed; its polled records."""
        goal_id = self.goal(text)
        return goal_id, self.drive(goal_id)

    def drive(self, goal_id: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            records += self.poll_goal(goal_id, lambda r: r["status"] in (
                "slots_pending", "ready", "ready_with_preview", *GOAL_TERMINAL))
            status = records[-1]["status"]
            if status in GOAL_TERMINAL:
                return records
            if status == "slots_pending":
                for slot in records[-1]["pending_slots"]:
                    self.fill(goal_id, slot)
            else:
                assert self.client.post(f"/v1/goals/{goal_id}/confirm").status_code == 200

    def fill(self, goal_id: str, slot: dict[str, Any]) -> httpx.Response:
        options = slot["options"]
        value = "someone@example.com" if options is None else (
            options[-1] if isinstance(options[-1], str) else options[-1]["value"])
        return self.client.post(f"/v1/goals/{goal_id}/slots/{slot['slot_id']}",
                                json={"value": value})

    def channel(self, goal_id: str, after_seq: int | None = None) -> EventChannel:
        params = {} if after_seq is None else {"after_seq": after_seq}
        answer = self.sim.connect_events(self.client.build_request(
            "GET", f"/v1/goals/{goal_id}/events", params=params))
        assert isinstance(answer, EventChannel), answer
        return answer

    def read_all(self, channel: EventChannel, limit: int = 500) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for _ in range(limit):
            message = channel.receive()
            if message is None:
                return events
            events.append(json.loads(message))
        raise AssertionError("the stream never ended")


def datetimes(record: Any) -> Iterator[str]:
    if isinstance(record, dict):
        for key, value in record.items():
            if key.endswith("_at") and isinstance(value, str):
                yield value
            yield from datetimes(value)
    elif isinstance(record, list):
        for item in record:
            yield from datetimes(item)


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)


def check_convert_projection(records: list[dict[str, Any]]) -> list[str]:
    """What breaks JOB-CONV-1 in these successive polls of one job."""
    problems = []
    order = {"queued": 0, "processing": 1, "completed": 2, "failed": 2}
    for before, after in itertools.pairwise(records):
        if order[after["status"]] < order[before["status"]] or (
                before["status"] in ("completed", "failed") and before != after):
            problems.append(f"status {before['status']} -> {after['status']}")
        if after["progress"] < before["progress"]:
            problems.append(f"progress {before['progress']} -> {after['progress']}")
        if after["retry_count"] < before["retry_count"] or after["updated_at"] < \
                before["updated_at"]:
            problems.append("retry_count or updated_at went down")
    for r in records:
        done = r["status"] in ("completed", "failed")
        if (r["status"] == "completed") != bool(r["result_files"]) or (
                r["status"] == "failed") != (r["error"] is not None):
            problems.append(f"result_files/error at {r['status']}")
        if (r["started_at"] is None) != (r["status"] == "queued") or \
                (r["completed_at"] is not None) != done:
            problems.append(f"timestamps at {r['status']}")
        if r["status"] == "completed" and r["progress"] != 100:
            problems.append("completed below 100")
    return problems


def check_stream(events: list[dict[str, Any]], goal_id: str,
                 job: dict[str, Any] | None = None) -> list[str]:
    """What breaks JOB-EVT-1..3 in one whole stream."""
    problems = []
    seqs = [e["seq"] for e in events]
    if any(b <= a for a, b in itertools.pairwise(seqs)):
        problems.append(f"seq not strictly increasing: {seqs}")
    stamps = [e["emitted_at"] for e in events]
    if stamps != sorted(stamps):
        problems.append("emitted_at went down")
    for e in events:
        if e["type"] not in EVENT_TYPES or e["job_spec_id"] != goal_id or \
                not ISO_ZONED.match(e["emitted_at"]) or e["schema_version"] < 1:
            problems.append(f"bad event {e}")
    terminal = [i for i, e in enumerate(events) if e["type"] in ("completed", "failed") or (
        e["type"] == "status" and e["data"]["status"] == "cancelled")]
    if terminal != [len(events) - 1]:
        problems.append(f"terminal events at {terminal} of {len(events)}")
    started: set[str] = set()
    progress = [e["data"]["progress"] for e in events if e["type"] == "progress"]
    if progress != sorted(progress):
        problems.append("progress events went down")
    texting = False
    for e in events:
        kind, data = e["type"], e["data"]
        if kind.endswith("_started"):
            started.add(data["call_id"])
        if kind.endswith("_finished") and data["call_id"] not in started:
            problems.append(f"{kind} without start: {data}")
        texting = texting or kind == "agent_text"
        if kind == "agent_text_done" and not texting:
            problems.append("agent_text_done before agent_text")
    if job is not None and events:
        last = events[-1]
        said = last["data"]["status"]
        if said != job["status"]:
            problems.append(f"terminal event says {said}, the job is {job['status']}")
        slots = {s["slot_id"] for s in job["pending_slots"]} | set(job["filled_slots"])
        needed = {e["data"]["slot_id"] for e in events if e["type"] == "slot_needed"}
        if not needed <= slots:
            problems.append(f"slot_needed for unknown slots {needed - slots}")
    return problems


# =========================================================================== interface


def test_public_interface_matches_the_other_simulators() -> None:
    ours = inspect.signature(JobsSimulator).parameters
    pos = inspect.signature(PosSimulator).parameters
    assert list(ours)[:5] == list(pos)[:5] == ["clock", "seed", "faults", "api_keys", "variant"]
    assert DEFAULT_API_KEY == "jobs_test_simulator_key" and BASE_URL == "https://jobs.sim"
    with pytest.raises(ValueError, match="unknown jobs fault"):
        JobsSimulator(clock=VirtualClock(), faults={"no-such-fault"})


def test_every_rule_has_a_fault() -> None:
    rules = set(re.findall(r"JOB-[A-Z]+-[0-9]", SPEC.read_text(encoding="utf-8")))
    assert len(rules) == 25
    # and the two rules the SDK document's own sentences add (JOB-MKT-4, -5)
    assert {fault.rule for fault in FAULTS.values()} == rules | {"JOB-MKT-4", "JOB-MKT-5"}
    assert all(isinstance(f, Fault) and f.name == name for name, f in FAULTS.items())
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in FAULTS)
    assert set(FAULT_CHECKS) == set(FAULTS)


# =========================================================================== auth, files


def test_every_v1_path_wants_the_key() -> None:
    api = Api()
    paths = [("POST", "/v1/files"), ("GET", "/v1/files/x"), ("POST", "/v1/convert"),
             ("GET", "/v1/convert/x"), ("POST", "/v1/goals"), ("GET", "/v1/goals/x"),
             ("POST", "/v1/goals/x/confirm"), ("POST", "/v1/goals/x/cancel"),
             ("POST", "/v1/goals/x/slots/y"), ("GET", "/v1/goals/x/events"),
             ("GET", "/v1/workflows"), ("GET", "/v1/workflows/x"), ("PATCH", "/v1/workflows/x"),
             ("POST", "/v1/workflows/x/like"), ("GET", "/v1/account/plan"),
             ("GET", "/v1/account/quota"), ("GET", "/v1/nowhere")]
    for method, path in paths:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            assert_error(api.anonymous.request(method, path, headers=headers), 401)
    assert not api.sim.files.uploads and not api.sim.jobs.goals
    refused = api.sim.connect_events(api.anonymous.build_request("GET", "/v1/goals/x/events"))
    assert isinstance(refused, httpx.Response) and refused.status_code == 401


def test_upload_and_get_a_file() -> None:
    api = Api()
    data = bytes(range(256)) * 4
    record = api.upload('résumé "final".pdf', data, "application/pdf")
    assert set(record) == FILE_KEYS
    assert record["filename"] == 'résumé "final".pdf' and record["size"] == len(data)
    assert record["content_type"] == "application/pdf"
    assert record["job_id"] is None and record["is_input"] is True
    assert ISO_ZONED.match(record["created_at"])
    again = api.client.get(f"/v1/files/{record['file_id']}")
    assert again.status_code == 200 and again.json() == record
    assert again.headers["content-type"] == "application/json"
    assert api.upload("blob", b"", None)["content_type"] == "application/octet-stream"
    assert api.upload("", b"x")["filename"] == ""
    assert_error(api.client.get("/v1/files/unknown"), 404)
    other = httpx.Client(base_url=BASE_URL, transport=httpx.MockTransport(
        JobsSimulator(clock=api.clock, api_keys=("other",)).handle))
    assert other.get(f"/v1/files/{record['file_id']}").status_code == 401


def test_an_upload_without_a_file_part_is_refused() -> None:
    api = Api()
    assert_error(api.client.post("/v1/files", files={"other": ("a.txt", b"x")}), 400)
    assert_error(api.client.post("/v1/files", data={"file": "url-encoded, not multipart"}), 400)
    assert_error(api.client.post("/v1/files", json={"file": "x"}), 400)
    assert_error(api.client.post("/v1/files", content=b"--b\r\nbroken",
                                 headers={"Content-Type": "multipart/form-data; boundary=b"}),
                 400)
    assert not api.sim.files.uploads


# =========================================================================== convert


def test_a_convert_job_completes_with_downloadable_results() -> None:
    api = Api()
    job_id = api.convert("scan.pdf", "ocr")
    records = api.poll_convert(job_id)
    assert check_convert_projection(records) == []
    assert records[0]["status"] == "queued" and records[0]["progress"] == 0
    assert {r["status"] for r in records} == {"queued", "processing", "completed"}
    final = records[-1]
    assert set(final) == CONVERT_KEYS and final["retry_count"] == 0
    assert all(ISO_ZONED.match(t) for t in datetimes(final))
    (result,) = final["result_files"]
    assert set(result) == {"filename", "size", "mimetype", "url"}
    download = api.anonymous.get(result["url"])
    assert download.status_code == 200 and len(download.content) == result["size"]
    assert download.headers["content-type"] == result["mimetype"]
    api.clock.advance(3600)
    assert api.client.get(f"/v1/convert/{job_id}").json() == final
    assert api.anonymous.get(result["url"].replace("sig=", "sig=0")).status_code == 403
    assert api.client.get(f"/v1/files/{api.sim.jobs.convert_jobs[job_id].inputs[0].file_id}"
                          ).json()["job_id"] == job_id


def test_convert_test_mode_failures() -> None:
    api = Api()
    failing = api.poll_convert(api.convert("will-FAIL.pdf"))
    assert check_convert_projection(failing) == []
    assert "processing" in {r["status"] for r in failing}
    assert failing[-1]["status"] == "failed" and failing[-1]["retry_count"] == 1
    assert failing[-1]["error"]["code"] and failing[-1]["result_files"] is None
    corrupt = api.poll_convert(api.convert("corrupt.pdf"))
    assert check_convert_projection(corrupt) == []
    assert [r["status"] for r in corrupt] == ["queued"] * (len(corrupt) - 1) + ["failed"]
    assert corrupt[-1]["started_at"] == corrupt[-1]["completed_at"] is not None


def test_convert_refusals_create_nothing() -> None:
    api = Api()
    file_id = api.upload()["file_id"]
    bodies = [({"file_ids": [], "processor_type": "ocr"}, 400),
              ({"file_ids": [file_id]}, 400),
              ({"file_ids": [file_id], "processor_type": "teleport"}, 400),
              ({"file_ids": ["nope"], "processor_type": "ocr"}, 404)]
    for body, status in bodies:
        assert_error(api.client.post("/v1/convert", json=body), status)
    assert_error(api.client.post("/v1/convert", content=b"{"), 400)
    assert_error(api.client.get("/v1/convert/unknown"), 404)
    assert not api.sim.jobs.convert_jobs


# =========================================================================== goals


@pytest.mark.parametrize(("text", "end", "seen"), [
    ("summarise the quarter", "completed", "ready"),
    ("a PREVIEW please", "completed", "ready_with_preview"),
    ("this will Fail", "failed", "executing"),
    ("a partial result", "partial", "executing"),
    ("ask me for SLOTS", "completed", "slots_pending"),
])
def test_goal_branches(text: str, end: str, seen: str) -> None:
    api = Api()
    goal_id, records = api.run_goal(text)
    statuses = [r["status"] for r in records]
    assert statuses[-1] == end and seen in statuses
    ranks = [GOAL_ORDER.index("ready" if s == "ready_with_preview" else s)
             for s in statuses if s not in GOAL_TERMINAL]
    slots = "slots_pending" in statuses
    if not slots:
        assert ranks == sorted(ranks)
    for r in records:
        assert set(r) == GOAL_KEYS and all(ISO_ZONED.match(t) for t in datetimes(r))
        assert bool(r["pending_slots"]) == (r["status"] == "slots_pending")
        assert (r["error_code"] is not None) == (r["error_message"] is not None) == (
            r["status"] == "failed")
        assert (r["completed_at"] is not None) == (r["status"] in GOAL_TERMINAL)
        if r["status"] in ("executing", *GOAL_TERMINAL):
            assert r["started_at"] is not None
    versions = [r["item_version"] for r in records]
    progress = [r["progress"] for r in records]
    assert versions == sorted(versions) and progress == sorted(progress)
    final = api.client.get(f"/v1/goals/{goal_id}").json()
    assert api.client.post(f"/v1/goals/{goal_id}/cancel").status_code == 409
    assert api.client.post(f"/v1/goals/{goal_id}/confirm").status_code == 409
    assert api.client.get(f"/v1/goals/{goal_id}").json() == final


def test_slot_fills_in_their_order_of_checks() -> None:
    api = Api()
    goal_id = api.goal("needs slots")
    early = api.client.post(f"/v1/goals/{goal_id}/slots/output_format", json={"value": "pdf"})
    assert_error(early, 409)
    paused = api.poll_goal(goal_id, lambda r: r["status"] == "slots_pending")[-1]
    slots = {s["slot_id"]: s for s in paused["pending_slots"]}
    assert all(set(s) == SLOT_KEYS for s in slots.values())
    choice = next(s for s in slots.values() if s["options"] and s["required"])
    text = next(s for s in slots.values() if s["options"] is None and s["required"])
    assert {type(o) for o in choice["options"]} == {str, dict}
    url = f"/v1/goals/{goal_id}/slots/"
    assert_error(api.client.post(url + "nope", json={"value": "x"}), 404)
    for value in ("json", None, "", 3):
        assert_error(api.client.post(url + choice["slot_id"], json={"value": value}), 422)
    for value in (None, ""):
        assert_error(api.client.post(url + text["slot_id"], json={"value": value}), 422)
    assert api.client.get(f"/v1/goals/{goal_id}").json() == paused
    dict_option = next(o["value"] for o in choice["options"] if isinstance(o, dict))
    filled = api.client.post(url + choice["slot_id"], json={"value": dict_option}).json()
    assert filled["filled_slots"] == {choice["slot_id"]: dict_option}
    assert [s["slot_id"] for s in filled["pending_slots"]] == [text["slot_id"]]
    assert filled["status"] == "slots_pending"
    assert_error(api.client.post(url + choice["slot_id"], json={"value": "pdf"}), 404)
    resumed = api.client.post(url + text["slot_id"], json={"value": "Ann"}).json()
    assert resumed["status"] == "analyzing" and resumed["pending_slots"] == []
    assert resumed["filled_slots"] == {choice["slot_id"]: dict_option, text["slot_id"]: "Ann"}


def test_an_optional_slot_waits_for_the_dispatcher_tick() -> None:
    variant = next(n for n in range(1, 200) if JobsSimulator(
        clock=VirtualClock(), variant=n).choices.optional_slot)
    api = Api(variant=variant)
    goal_id = api.goal("slots")
    paused = api.poll_goal(goal_id, lambda r: r["status"] == "slots_pending")[-1]
    for slot in paused["pending_slots"]:
        if slot["required"]:
            api.fill(goal_id, slot)
    waiting = api.client.get(f"/v1/goals/{goal_id}").json()
    assert waiting["status"] == "slots_pending" and len(waiting["pending_slots"]) == 1
    api.clock.advance(api.sim.choices.dispatcher_tick)
    resumed = api.client.get(f"/v1/goals/{goal_id}").json()
    assert resumed["status"] == "analyzing" and resumed["pending_slots"] == []


def test_confirm_and_cancel_refusals() -> None:
    api = Api()
    goal_id = api.goal("plain")
    assert_error(api.client.post(f"/v1/goals/{goal_id}/confirm"), 409)
    api.poll_goal(goal_id, lambda r: r["status"] == "ready")
    cancelled = api.client.post(f"/v1/goals/{goal_id}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["completed_at"] is not None
    assert_error(api.client.post(f"/v1/goals/{goal_id}/cancel"), 409)
    assert_error(api.client.post("/v1/goals/unknown/confirm"), 404)
    assert_error(api.client.get("/v1/goals/unknown"), 404)


def test_goal_creation_refusals_create_nothing() -> None:
    api = Api()
    for body, status in [({"file_ids": []}, 400), ({"goal_text": "", "file_ids": []}, 400),
                         ({"goal_text": "x", "file_ids": ["nope"]}, 404),
                         ({"goal_text": "x", "file_ids": [], "workflow_id": "nope"}, 404)]:
        assert_error(api.client.post("/v1/goals", json=body), status)
    assert not api.sim.jobs.goals
    workflow_id = next(iter(api.sim.market.workflows))
    goal_id = api.goal("x", workflow_id=workflow_id)
    assert api.client.get(f"/v1/goals/{goal_id}").json()["workflow_id"] == workflow_id


# =========================================================================== events


@pytest.mark.parametrize("text", ["plain", "slots and preview", "fail", "partial"])
def test_the_event_stream_is_lawful_to_its_end(text: str) -> None:
    api = Api()
    goal_id = api.goal(text)
    channel = api.channel(goal_id)
    events = []
    while (message := channel.receive()) is not None:
        event = json.loads(message)
        events.append(event)
        if event["type"] == "status" and event["data"]["status"] == "slots_pending":
            pass
        if event["type"] == "slot_needed":
            job = api.client.get(f"/v1/goals/{goal_id}").json()
            if job["status"] == "slots_pending":
                slot = next(s for s in job["pending_slots"]
                            if s["slot_id"] == event["data"]["slot_id"])
                assert api.fill(goal_id, slot).status_code == 200
        if event["type"] == "status" and event["data"]["status"] in ("ready",
                                                                     "ready_with_preview"):
            assert api.client.post(f"/v1/goals/{goal_id}/confirm").status_code == 200
    assert channel.close_code == 1000 and channel.receive() is None
    job = api.client.get(f"/v1/goals/{goal_id}").json()
    assert check_stream(events, goal_id, job) == []
    assert events[0]["seq"] == 1
    resumed = api.read_all(api.channel(goal_id, after_seq=events[4]["seq"]))
    assert resumed == events[5:]
    assert api.read_all(api.channel(goal_id, after_seq=events[-1]["seq"])) == []


def test_a_cancelled_stream_ends_with_its_status_and_quiet_streams_keep_alive() -> None:
    api = Api()
    goal_id = api.goal("plain")
    api.poll_goal(goal_id, lambda r: r["status"] == "ready")
    channel = api.channel(goal_id)
    backlog = [json.loads(channel.receive() or "")]
    while backlog[-1]["type"] != "status" or backlog[-1]["data"]["status"] != "ready":
        backlog.append(json.loads(channel.receive() or ""))
    start = api.clock.now()
    keepalive = json.loads(channel.receive() or "")
    assert keepalive["type"] == "keepalive" and keepalive["seq"] == backlog[-1]["seq"] + 1
    assert api.clock.now() - start == pytest.approx(api.sim.choices.keepalive_seconds)
    api.client.post(f"/v1/goals/{goal_id}/cancel")
    rest = api.read_all(channel)
    assert rest[-1]["type"] == "status" and rest[-1]["data"]["status"] == "cancelled"
    assert check_stream([*backlog, keepalive, *rest], goal_id) == []
    assert channel.close_code == 1000


def test_event_connections_refused_and_closed() -> None:
    api = Api()
    goal_id = api.goal("plain")
    for path, status in [("/v1/goals/unknown/events", 404),
                         (f"/v1/goals/{goal_id}/events?after_seq=-1", 400),
                         (f"/v1/goals/{goal_id}/events?after_seq=x", 400),
                         ("/v1/elsewhere", 404)]:
        answer = api.sim.connect_events(api.client.build_request("GET", path))
        assert isinstance(answer, httpx.Response)
        assert_error(answer, status)
    assert_error(api.client.get(f"/v1/goals/{goal_id}/events"), 426)
    channel = api.channel(goal_id)
    channel.close()
    assert channel.receive() is None and channel.close_code is None


# =========================================================================== marketplace


def test_search_pages_cover_every_workflow_once() -> None:
    api = Api()
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 7} if cursor is None else {"limit": 7, "cursor": cursor}
        page = api.client.get("/v1/workflows", params=params).json()
        seen += [item["workflow_id"] for item in page["items"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 25
    for workflow_id in seen:
        detail = api.client.get(f"/v1/workflows/{workflow_id}").json()
        assert detail["workflow_id"] == workflow_id and detail["item_version"] >= 1
    default = api.client.get("/v1/workflows").json()
    assert len(default["items"]) == 10 and default["cursor"]
    found = api.client.get("/v1/workflows", params={"q": "PDF"}).json()
    assert found["items"] and all("pdf" in json.dumps(i).lower() for i in found["items"])
    assert_error(api.client.get("/v1/workflows", params={"cursor": "bogus"}), 400)
    assert_error(api.client.get("/v1/workflows", params={"limit": 0}), 400)
    assert_error(api.client.get("/v1/workflows/unknown"), 404)


def test_like_toggles_and_patch_locks() -> None:
    api = Api()
    workflow_id = next(iter(api.sim.market.workflows))
    url = f"/v1/workflows/{workflow_id}"
    before = api.client.get(url).json()
    first = api.client.post(url + "/like").json()
    assert first["like_count"] == before["stats"]["like_count"] + 1 and first["liked"]
    assert api.client.get(url).json()["stats"]["like_count"] == first["like_count"]
    second = api.client.post(url + "/like").json()
    assert second == {"liked": False, "like_count": before["stats"]["like_count"]}
    version = before["item_version"]
    patched = api.client.patch(url, json={"item_version": version, "name": "Renamed",
                                          "tags": ["x"]})
    assert patched.status_code == 200
    assert patched.json()["item_version"] == version + 1 and patched.json()["name"] == "Renamed"
    current = api.client.get(url).json()
    assert_error(api.client.patch(url, json={"item_version": version, "name": "Stale"}), 409)
    assert api.client.get(url).json() == current
    assert_error(api.client.patch(url, json={"name": "No version"}), 400)


# =========================================================================== billing


def test_plan_and_quota_estimates() -> None:
    api = Api()
    plan = api.client.get("/v1/account/plan").json()
    assert plan["tier"] == "free"

    def quota(tools: str, n: int) -> dict[str, Any]:
        response = api.client.get("/v1/account/quota",
                                  params={"tools": tools, "max_iterations": n})
        assert response.status_code == 200, response.text
        return dict(response.json())

    states = set()
    for tools in ("web_search", "web_search,llm_call,web_search", "image_gen,ocr,summarize"):
        for n in (1, 3, 10, 40, 190):
            e = quota(tools, n)
            assert e["estimated_min_micro_u"] <= e["estimated_total_micro_u"] <= \
                e["estimated_max_micro_u"]
            assert e["estimated_micro_u"] == e["estimated_total_micro_u"]
            assert [t["tool_name"] for t in e["tools"]] == list(dict.fromkeys(tools.split(",")))
            check = e["quota_check"]
            assert check["tier"] == plan["tier"]
            assert (check["upgrade_url"] is None) == (check["state"] == "ok")
            assert (check["state"] == "quota_exceeded") == (
                check["estimated_micro_u"] > check["threshold_micro_u"])
            states.add(check["state"])
    assert states == {"ok", "soft_limit", "quota_exceeded"}
    keys = ("estimated_min_micro_u", "estimated_total_micro_u", "estimated_max_micro_u")
    small, more, wider = quota("ocr", 2), quota("ocr", 3), quota("ocr,web_search", 2)
    assert all(small[k] <= more[k] and small[k] <= wider[k] for k in keys)
    refused: list[dict[str, str | int]] = [{"tools": "teleport"},
                                           {"tools": "ocr", "max_iterations": 0},
                                           {"tools": "ocr", "max_iterations": "many"}]
    for params in refused:
        assert_error(api.client.get("/v1/account/quota", params=params), 400)


# =========================================================================== rate limit


def test_rate_limited_requests_carry_retry_after_and_do_nothing() -> None:
    api = Api(rate_limit=(3.0, 1.0))
    workflow_id = next(iter(api.sim.market.workflows))
    count = api.sim.market.workflows[workflow_id].like_count
    answers = [api.client.post(f"/v1/workflows/{workflow_id}/like") for _ in range(6)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429, 429]
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers[3:])
    assert_error(answers[3], 429)
    assert api.sim.market.workflows[workflow_id].like_count == count + 1
    api.clock.advance(float(answers[-1].headers["Retry-After"]))
    assert api.client.get("/v1/account/plan").status_code == 200
    assert Api(rate_limit="variant").sim.bucket is not None


# =========================================================================== variants


@pytest.mark.parametrize("variant", [1, 2, 3, 4, 5])
def test_variants_stay_lawful(variant: int) -> None:
    api = Api(variant=variant)
    records = api.poll_convert(api.convert())
    assert check_convert_projection(records) == [] and records[-1]["status"] == "completed"
    goal_id = api.goal("slots preview partial")
    channel = api.channel(goal_id)
    _, polled = api.run_goal("slots preview partial")
    assert polled[-1]["status"] == "partial"
    api.client.post(f"/v1/goals/{goal_id}/cancel")
    events = api.read_all(channel)
    assert check_stream(events, goal_id) == []
    for record in (records[-1], polled[-1]):
        assert all(ISO_ZONED.match(t) for t in datetimes(record))


# =========================================================================== faults


def _partial_stream(api: Api) -> tuple[str, list[dict[str, Any]]]:
    goal_id, _ = api.run_goal("partial")
    return goal_id, api.read_all(api.channel(goal_id))


def _paused(api: Api) -> tuple[str, dict[str, Any]]:
    goal_id = api.goal("slots")
    return goal_id, api.poll_goal(goal_id, lambda r: r["status"] == "slots_pending")[-1]


def _check_auth_ignored(api: Api) -> None:
    assert api.anonymous.get("/v1/account/plan").status_code == 200


def _check_server_error(api: Api) -> None:
    assert api.client.get("/v1/account/plan").status_code == 500


def _check_json_as_text(api: Api) -> None:
    file_id = api.upload()["file_id"]
    assert api.client.get(f"/v1/files/{file_id}").headers["content-type"] == "text/plain"


def _check_bare_error(api: Api) -> None:
    assert "error" not in api.client.get("/v1/files/unknown").json()


def _check_no_retry_after(api: Api) -> None:
    api.sim.bucket = TokenBucket(api.clock, 1, 0.01)
    answers = [api.client.get("/v1/account/plan") for _ in range(2)]
    assert answers[1].status_code == 429 and "retry-after" not in answers[1].headers


def _check_refused_request_applied(api: Api) -> None:
    api.sim.bucket = TokenBucket(api.clock, 1, 0.01)
    workflow = next(iter(api.sim.market.workflows.values()))
    count = workflow.like_count
    answers = [api.client.post(f"/v1/workflows/{workflow.workflow_id}/like") for _ in range(2)]
    # the refused second like took the first one back
    assert answers[1].status_code == 429 and workflow.like_count == count


def _check_extra_key(api: Api) -> None:
    assert "object" in api.upload()


def _check_field_missing(api: Api) -> None:
    assert "pending_interrupts" not in api.client.get(f"/v1/goals/{api.goal()}").json()


def _check_naive_datetime(api: Api) -> None:
    assert not ISO_ZONED.match(api.upload()["created_at"])


def _check_file_size_wrong(api: Api) -> None:
    assert api.upload(data=b"12345")["size"] == 6


def _check_no_file_part_accepted(api: Api) -> None:
    assert api.client.post("/v1/files", files={"other": ("a", b"x")}).status_code == 201


def _check_progress_regresses(api: Api) -> None:
    assert check_convert_projection(api.poll_convert(api.convert()))


def _check_empty_file_ids_accepted(api: Api) -> None:
    body = {"file_ids": [], "processor_type": "ocr"}
    assert api.client.post("/v1/convert", json=body).status_code == 202


def _check_presigned_needs_key(api: Api) -> None:
    url = api.poll_convert(api.convert())[-1]["result_files"][0]["url"]
    assert api.anonymous.get(url).status_code == 401
    assert api.client.get(url).status_code == 200


def _check_error_code_missing(api: Api) -> None:
    _, records = api.run_goal("fail")
    assert records[-1]["status"] == "failed" and records[-1]["error_code"] is None


def _check_confirm_anywhere(api: Api) -> None:
    answer = api.client.post(f"/v1/goals/{api.goal()}/confirm")
    assert answer.status_code == 200 and answer.json()["status"] == "confirmed"


def _check_cancel_terminal_200(api: Api) -> None:
    goal_id, _ = api.run_goal("plain")
    assert api.client.post(f"/v1/goals/{goal_id}/cancel").status_code == 200
    assert api.client.get(f"/v1/goals/{goal_id}").json()["status"] == "completed"


def _check_empty_goal_accepted(api: Api) -> None:
    assert api.client.post("/v1/goals", json={"goal_text": "", "file_ids": []}
                           ).status_code == 202


def _check_slot_fill_lost(api: Api) -> None:
    goal_id, paused = _paused(api)
    slot = paused["pending_slots"][0]
    assert api.fill(goal_id, slot).status_code == 200
    after = api.client.get(f"/v1/goals/{goal_id}").json()
    assert slot["slot_id"] not in after["filled_slots"]


def _check_option_outside_accepted(api: Api) -> None:
    goal_id, _ = _paused(api)
    answer = api.client.post(f"/v1/goals/{goal_id}/slots/output_format", json={"value": "doc"})
    assert answer.status_code == 200 and answer.json()["filled_slots"]["output_format"] == "doc"


def _check_refused_fill_changes(api: Api) -> None:
    goal_id, paused = _paused(api)
    answer = api.client.post(f"/v1/goals/{goal_id}/slots/recipient", json={"value": ""})
    assert answer.status_code == 422
    after = api.client.get(f"/v1/goals/{goal_id}").json()
    assert after["item_version"] == paused["item_version"] + 1


def _check_fill_after_pause(api: Api) -> None:
    goal_id = api.goal("plain")
    answer = api.client.post(f"/v1/goals/{goal_id}/slots/anything", json={"value": "x"})
    assert answer.status_code == 200 and answer.json()["filled_slots"] == {"anything": "x"}


def _check_event_seq_repeats(api: Api) -> None:
    goal_id = api.goal("plain")
    resumed = api.channel(goal_id, after_seq=2)  # open before the repeat is emitted
    api.drive(goal_id)
    events = api.read_all(api.channel(goal_id))
    assert events[1]["seq"] == events[2]["seq"]
    # JOB-EVT-1 alone: a stream resumed after 2 never gets the repeated 2.
    assert [e["seq"] for e in api.read_all(resumed)] == [e["seq"] for e in events[3:]]


def _check_event_after_terminal(api: Api) -> None:
    _goal_id, events = _partial_stream(api)
    assert events[-2]["type"] == "completed" and events[-1]["type"] == "keepalive"


def _check_terminal_disagrees(api: Api) -> None:
    goal_id, events = _partial_stream(api)
    job = api.client.get(f"/v1/goals/{goal_id}").json()
    assert job["status"] == "partial" and events[-1]["data"]["status"] == "completed"


def _check_resume_replays(api: Api) -> None:
    goal_id, events = _partial_stream(api)
    resumed = api.read_all(api.channel(goal_id, after_seq=events[3]["seq"]))
    assert resumed == events[3:]


def _check_page_repeats(api: Api) -> None:
    first = api.client.get("/v1/workflows", params={"limit": 5}).json()
    second = api.client.get("/v1/workflows", params={"limit": 5,
                                                     "cursor": first["cursor"]}).json()
    assert second["items"][0] == first["items"][-1]


def _check_like_not_toggled(api: Api) -> None:
    workflow_id = next(iter(api.sim.market.workflows))
    answers = [api.client.post(f"/v1/workflows/{workflow_id}/like").json() for _ in range(2)]
    assert answers[1]["liked"] and answers[1]["like_count"] == answers[0]["like_count"] + 1


def _check_stale_patch_accepted(api: Api) -> None:
    workflow_id = next(iter(api.sim.market.workflows))
    answer = api.client.patch(f"/v1/workflows/{workflow_id}", json={"item_version": -5})
    assert answer.status_code == 200


def _check_source_type_other(api: Api) -> None:
    types = {api.client.get(f"/v1/workflows/{workflow_id}").json()["source_type"]
             for workflow_id in api.sim.market.workflows}
    assert types - {"curated", "user", "blank", None}


def _check_summary_full_rows(api: Api) -> None:
    rows = api.client.get("/v1/workflows", params={"limit": 3}).json()["items"]
    assert rows and all({"system_prompt", "spec_json"} <= set(row) for row in rows)


def _check_estimate_order(api: Api) -> None:
    e = api.client.get("/v1/account/quota", params={"tools": "ocr"}).json()
    assert e["estimated_max_micro_u"] < e["estimated_total_micro_u"]


def _check_estimate_not_monotone(api: Api) -> None:
    def total(tools: str, n: int) -> int:
        return int(api.client.get("/v1/account/quota", params={
            "tools": tools, "max_iterations": n}).json()["estimated_total_micro_u"])

    assert total("ocr", 2) < total("ocr", 1)
    assert total("ocr,web_search", 1) < total("ocr", 1)


FAULT_CHECKS: dict[str, Callable[[Api], None]] = {
    name: globals()["_check_" + name.replace("-", "_")] for name in FAULTS
    if "_check_" + name.replace("-", "_") in globals()
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_fault_shows_its_symptom(name: str) -> None:
    FAULT_CHECKS[name](Api({name}, rate_limit=(1000.0, 1.0)))
    with pytest.raises(AssertionError):
        FAULT_CHECKS[name](Api(rate_limit=(1000.0, 1.0)))
