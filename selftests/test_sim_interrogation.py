"""Self-tests of the embedded Interrogation Agent simulator
(jobcontracts.sims.interrogation).

- direct httpx calls showing the conforming behaviour: the document's flow,
  request validation, timing, failing runs, keep-alives, resumption, early
  hang-ups, determinism;
- an audit (selftests/ia_kit.py) checking every `IA-*` rule by hand: the
  conforming simulator breaks none on several seeds, and each named fault
  breaks exactly its own rule, with its own symptom;
- one test serving the simulator over real HTTP and reading a stream.

In-process tests run on a VirtualClock: reading a stream moves simulated time.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from jobcontracts.clock import ScaledClock, VirtualClock
from jobcontracts.serve import SimulatorApp, serving
from jobcontracts.sims.interrogation import (
    DEFAULT_API_KEY,
    FAIL_TRIGGER,
    FAULTS,
    Fault,
    InterrogationSimulator,
)
from jobcontracts.sims.interrogation.stream import EventStream

from .ia_kit import BASE, PROBLEM, PROFILE_FIELDS, STATUS_KEYS, Api, Audit, Sse

RULES = {
    "IA-REQ-1",
    "IA-REQ-2",
    "IA-REQ-3",
    "IA-STAT-1",
    "IA-STAT-2",
    "IA-STAT-3",
    "IA-SSE-1",
    "IA-SSE-2",
    "IA-SSE-3",
    "IA-SSE-4",
    "IA-SSE-5",
    "IA-SSE-6",
    "IA-SSE-7",
    "IA-SSE-8",
    "IA-CAT-1",
}
DOC_PAYLOAD_KEYS = {
    "sse.connected": {"status"},
    "simulation.started": {"max_interview_messages", "user_input"},
    "simulation.step": {"step", "state"},
    "agent.update": {"step", "stage", "action", "summary", "details"},
    "hypothesis.batch_created": {"step", "count", "hypotheses"},
    "interview.message": {"step", "hypothesis_id", "message_index", "role", "content", "status"},
    "interview.transcript.updated": {
        "step",
        "hypothesis_id",
        "hypothesis_title",
        "status",
        "latest_message_index",
        "latest_message_role",
        "latest_message_content",
        "transcript",
    },
    "simulation.completed": {"final_answer", "state"},
    "simulation.error": {"message"},
}
HYPOTHESIS_KEYS = {
    "id",
    "title",
    "status",
    "root_cause",
    "evidence_count",
    "interview_message_count",
}
#: What each fault's audit finding says, to show it is that fault's symptom.
SYMPTOMS = {
    "unknown-stakeholder-400": "no_such_stakeholder",
    "max-messages-unbounded": "'max_interview_messages': 41",
    "created-200": "POST -> 200",
    "details-url-broken": "/details -> <Response [404",
    "completed-at-while-running": "'status': 'running', 'started_at'",
    "final-answer-while-running": "'final_answer': 'Draft:",
    "event-name-mismatch": "event: simulation.state for simulation.step",
    "simulation-id-mismatch": "agent.update",
    "started-twice": "simulation.started",
    "no-terminal-event": "agent.update', 'simulation.step']",
    "event-after-terminal": "'simulation.completed', 'agent.update']",
    "ids-repeat": "8, 8,",
    "step-regresses": ", 2, 1",
    "unannounced-hypothesis": "for h-",
    "message-index-skips": "indices [0, 1, 2, 3, 4, 6]",
    "message-count-off-by-one": "message_count 2, sent 1",
    "interview-exceeds-max": "h-1: 10 > 8",
    "final-answer-differs": "'final_answer': 'Draft:",
    "error-message-differs": "'message': 'Simulation failed.'",
    "resume-repeats-last": "after 0: [('0',",
    "resume-skips-one": "after 0: [('2',",
    "catalog-missing-field": "small_business_owner_35_55 lacks a field",
    "catalog-duplicate-id": "'enterprise_it_admin_30_50', 'adult_tech_consumer_30_45']",
    "catalog-id-rejected": "retail_store_manager_40_60 refused",
    "stakeholder-id-wins": "'stakeholder_id': 'no_such_stakeholder'",
    "started-at-iso-string": "'started_at': '",
    "status-id-mismatch": "answers for",
    "event-no-timestamp": "simulation.step without a numeric timestamp",
    "connected-status-wrong": "connected says 'starting'",
    "started-echo-wrong": "started echoes",
    "batch-count-off": "count 4 for 3",
    "transcript-lags": "transcript one behind",
}


class DocumentAudit(Audit):
    """`ia_kit.Audit`, and the document rules it does not check yet: the
    profile's precedence (IA-REQ-3), the status record's times (IA-STAT-2)
    and its id (IA-STAT-3)."""

    def __init__(self, faults: Any = frozenset(), **kw: Any) -> None:
        super().__init__(faults, **kw)
        self.sent: dict[str, dict[str, Any]] = {}

    def check_status(self, simulation_id: str) -> dict[str, Any]:
        record = super().check_status(simulation_id)
        self.flag("IA-STAT-3", record.get("simulation_id") == simulation_id,
                  f"{simulation_id[:8]}: answers for {record.get('simulation_id')!r}")
        started, completed = record["started_at"], record["completed_at"]
        self.flag(
            "IA-STAT-2",
            isinstance(started, int | float) and not isinstance(started, bool)
            and (completed is None or isinstance(completed, int | float)),
            f"{simulation_id[:8]} {record}",
        )
        return record

    def check_created(self, response: httpx.Response) -> str:
        simulation_id = super().check_created(response)
        self.sent[simulation_id] = json.loads(response.request.content)
        return simulation_id

    def check_stream(self, response: httpx.Response, events: list[Sse], simulation_id: str) -> None:
        """IA-SSE-7 on any stream: the data envelope; `running` when connected mid-run."""
        super().check_stream(response, events, simulation_id)
        for sse in events:
            stamp = sse.data.get("timestamp")
            self.flag("IA-SSE-7", isinstance(stamp, int | float) and not isinstance(stamp, bool),
                      f"{sse.name} without a numeric timestamp")
            self.flag("IA-SSE-7", isinstance(sse.data.get("payload"), dict), f"{sse.name} payload")
        connected = events[0] if events and events[0].name == "sse.connected" else None
        if connected is not None and any(
                e.data.get("timestamp", 0) > connected.data["timestamp"] for e in events[1:]):
            self.flag("IA-SSE-7", connected.payload.get("status") == "running",
                      f"connected says {connected.payload.get('status')!r} mid-run")

    def check_run(self, simulation_id: str, limit: int) -> list[Sse]:
        """IA-SSE-8 on a full stream: payloads agree with the request and each other."""
        events = super().check_run(simulation_id, limit)
        sent = self.sent.get(simulation_id, {})
        messages: dict[str, list[dict[str, Any]]] = {}
        for sse in events:
            payload = sse.payload
            if sse.name == "simulation.started":
                echoed = all(payload.get(k) == sent[k] for k in ("user_input",
                             "max_interview_messages") if sent.get(k) is not None)
                self.flag("IA-SSE-8", echoed, f"started echoes {payload} for {sent}")
            elif sse.name == "hypothesis.batch_created":
                count, listed = payload.get("count"), len(payload.get("hypotheses", []))
                self.flag("IA-SSE-8", count == listed, f"count {count} for {listed}")
            elif sse.name == "interview.message":
                self.flag("IA-SSE-8", payload.get("role") in ("user", "assistant"),
                          f"role {payload.get('role')!r}")
                messages.setdefault(payload["hypothesis_id"], []).append(payload)
            elif sse.name == "interview.transcript.updated":
                mine = messages.get(payload["hypothesis_id"], [])
                listed = payload["transcript"]["messages"]
                self.flag("IA-SSE-8", listed == [{"role": m["role"], "content": m["content"]}
                                                 for m in mine],
                          f"transcript one behind: {len(listed)} of {len(mine)}")
                if mine:
                    last = mine[-1]
                    self.flag("IA-SSE-8", (payload["latest_message_index"],
                                           payload["latest_message_role"],
                                           payload["latest_message_content"]) == (
                        last["message_index"], last["role"], last["content"]), "latest")
        return events

    def check_requests(self) -> None:
        super().check_requests()
        body = {"user_input": PROBLEM, "stakeholder_id": "no_such_stakeholder",
                "stakeholder_profile": "I am a 40 year old operations manager.",
                "max_interview_messages": 4}
        response = self.api.create(**body)
        accepted = response.status_code in (200, 201, 202)  # a 200 is IA-REQ-2's finding
        self.flag("IA-REQ-3", accepted, f"{body!r} -> {response}")
        if accepted:
            self.check_status(str(response.json()["simulation_id"]))


def payloads(events: list[Sse], name: str) -> list[dict[str, Any]]:
    return [sse.payload for sse in events if sse.name == name]


def event_streams(sim: InterrogationSimulator) -> list[EventStream]:
    """The streams the simulator answered with (an httpx client wraps them)."""
    found = []
    for call in sim.router.calls:
        if call.response is not None:
            stream = getattr(call.response.stream, "_stream", call.response.stream)
            if isinstance(stream, EventStream):
                found.append(stream)
    return found


# =========================================================================== interface


def test_public_interface() -> None:
    clock = VirtualClock()
    sim = InterrogationSimulator(
        clock=clock, seed=3, faults={"ids-repeat"}, api_keys=("ignored",), rate_limit=None
    )
    assert sim.handle == sim.router.handler
    assert DEFAULT_API_KEY == ""
    assert all(isinstance(f, Fault) and f.name == name for name, f in FAULTS.items())
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in FAULTS)
    assert {f.rule for f in FAULTS.values()} == RULES
    assert set(SYMPTOMS) == set(FAULTS)
    with pytest.raises(ValueError, match=r"no-such-fault.*valid names:.*ids-repeat"):
        InterrogationSimulator(clock=clock, faults={"no-such-fault"})
    assert FAIL_TRIGGER.search("please FAIL") and not FAIL_TRIGGER.search("FAILURE, fail")


# =========================================================================== conforming


def test_document_flow() -> None:
    """The document's frontend flow: catalog, POST, EventSource, final answer."""
    api = Api(seed=11)
    catalog = api.http.get("/api/stakeholders")
    assert catalog.status_code == 200 and catalog.headers["content-type"] == "application/json"
    entries = catalog.json()["stakeholders"]
    assert len(entries) >= 5 and all(set(entry) == set(PROFILE_FIELDS) for entry in entries)
    assert entries[0]["id"] == "adult_tech_consumer_30_45"
    created = api.create(
        user_input="Our activation is dropping after signup redesign.",
        stakeholder_id="adult_tech_consumer_30_45",
        max_interview_messages=8,
    )
    assert created.status_code == 202
    run = created.json()
    simulation_id = run["simulation_id"]
    assert run == {
        "simulation_id": simulation_id,
        "status": "running",
        "events_url": f"/api/simulations/{simulation_id}/events",
        "details_url": f"/api/simulations/{simulation_id}",
    }
    start = api.clock.now()
    response, events = api.events(simulation_id)
    assert response.headers["content-type"] == "text/event-stream"
    names = [sse.name for sse in events]
    assert set(names) == set(DOC_PAYLOAD_KEYS) - {"simulation.error"}
    for sse in events:
        assert set(sse.data) == {"event", "timestamp", "simulation_id", "payload"}
        assert DOC_PAYLOAD_KEYS[sse.name] <= set(sse.payload), sse
        if sse.name == "simulation.step":
            assert all(set(h) == HYPOTHESIS_KEYS for h in sse.payload["state"]["hypotheses"])
    for message in payloads(events, "interview.message"):
        assert message["role"] == ("assistant" if message["message_index"] % 2 == 0 else "user")
    transcripts = payloads(events, "interview.transcript.updated")
    assert all(
        t["transcript"]["text"].split("\n")[-1]
        == f"{t['latest_message_role']}: {t['latest_message_content']}"
        for t in transcripts
    )
    stages = {update["stage"] for update in payloads(events, "agent.update")}
    assert stages == {"analysis", "hypothesis_generation", "validation", "interview", "synthesis"}
    final = events[-1].payload["final_answer"]
    status = api.status(simulation_id)
    assert set(status) == STATUS_KEYS
    assert status["status"] == "completed" and status["final_answer"] == final
    assert status["completed_at"] == events[-1].data["timestamp"] == api.clock.now()
    assert status["started_at"] == start and status["error"] is None
    assert 30 <= api.clock.now() - start <= 300


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_audit_of_the_conforming_simulator_is_clean(seed: int) -> None:
    assert DocumentAudit((), seed=seed).run() == {}


@pytest.mark.parametrize("limit", [2, 3, 8, 40])
def test_runs_take_tens_of_seconds_to_minutes(limit: int) -> None:
    api = Api(seed=limit)
    simulation_id = api.start(max_interview_messages=limit)
    start = api.clock.now()
    assert api.status(simulation_id)["status"] == "running"
    _, events = api.events(simulation_id)
    assert 30 <= api.clock.now() - start <= 300
    counts: dict[str, int] = {}
    for message in payloads(events, "interview.message"):
        counts[message["hypothesis_id"]] = counts.get(message["hypothesis_id"], 0) + 1
    assert 2 <= len(counts) <= 3 and all(2 <= n <= limit for n in counts.values())
    assert limit != 2 or set(counts.values()) == {2}


def test_a_failing_run_ends_in_simulation_error_with_keep_alives() -> None:
    api = Api(seed=5)
    simulation_id = api.start("Activation FAIL after the redesign", max_interview_messages=6)
    raw = api.http.get(f"/api/simulations/{simulation_id}/events").text
    assert ": keep-alive\n" in raw and "\n\n\n" not in raw  # comment lines, no empty events
    _, events = api.events(simulation_id)
    assert "message" not in {sse.event for sse in events}
    terminal = events[-1]
    assert terminal.name == "simulation.error" and "simulation.completed" not in raw
    status = api.status(simulation_id)
    assert status["status"] == "failed" and status["final_answer"] is None
    assert status["error"] == terminal.payload["message"]
    assert status["completed_at"] == terminal.data["timestamp"]
    last_message = payloads(events, "interview.message")[-1]
    assert (
        last_message["hypothesis_id"]
        == payloads(events, "hypothesis.batch_created")[0]["hypotheses"][-1]["hypothesis_id"]
    )
    gap = terminal.data["timestamp"] - events[-2].data["timestamp"]
    assert gap == pytest.approx(30.0, abs=0.01)


def test_status_follows_the_timeline() -> None:
    api = Api(seed=2)
    simulation_id = api.start()
    seen: list[str] = []

    def poll(sse: Sse) -> None:
        seen.append(api.status(simulation_id)["status"])

    _, _events = api.events(simulation_id, on_event=poll)
    assert set(seen[:-1]) == {"running"} and seen[-1] == "completed"
    final = api.status(simulation_id)
    api.clock.sleep(3600)
    assert api.status(simulation_id) == final
    unknown = api.http.get("/api/simulations/nope")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "SIMULATION_NOT_FOUND"
    assert api.http.get("/api/simulations/nope/events").status_code == 404


def test_connecting_mid_run_and_after_the_end() -> None:
    api = Api(seed=4)
    simulation_id = api.start()
    api.clock.sleep(20)
    now = api.clock.now()
    _, early = api.events(simulation_id, stop_after=6)
    assert api.clock.now() == now  # the due events come at once
    assert early[0].payload == {"status": "running"} and early[0].data["timestamp"] == now
    _, full = api.events(simulation_id)
    _, replay = api.events(simulation_id)
    assert replay[0].payload == {"status": "completed"}
    assert [sse.data for sse in replay[1:]] == [sse.data for sse in full[1:]]
    assert [sse.data for sse in early[1:]] == [sse.data for sse in full[1:6]]


@pytest.mark.parametrize(
    ("header", "first"), [("-1", "0"), ("banana", "0"), ("", "0"), ("3", "4"), (" 10 ", "11")]
)
def test_last_event_id_values(header: str, first: str) -> None:
    api = Api()
    simulation_id = api.start()
    _, events = api.events(simulation_id, header)
    assert events[0].name == "sse.connected" and events[1].id == first


def test_resuming_after_the_terminal_event_sends_only_the_greeting() -> None:
    api = Api()
    simulation_id = api.start()
    _, full = api.events(simulation_id)
    for last in (full[-1].id, "999999"):
        _, resumed = api.events(simulation_id, last)
        assert [sse.name for sse in resumed] == ["sse.connected"]


def test_hanging_up_stops_the_stream() -> None:
    api = Api()
    simulation_id = api.start()
    _, _events = api.events(simulation_id, stop_after=3)
    stopped_at = api.clock.now()
    streams = event_streams(api.sim)
    assert len(streams) == 1 and streams[0].closed
    assert stopped_at - api.sim.simulations[simulation_id].created < 10
    direct = api.sim.handle(httpx.Request("GET", f"{BASE}/api/simulations/{simulation_id}/events"))
    direct.close()  # closed before it was ever read
    assert isinstance(direct.stream, EventStream) and direct.stream.closed
    assert list(direct.stream) == []


def test_request_bodies_that_are_accepted() -> None:
    api = Api()
    accepted: list[dict[str, Any]] = [
        {"user_input": "", "stakeholder_id": "adult_tech_consumer_30_45"},
        {"user_input": "Zürich 🚀 \u0000 \n 東京", "stakeholder_profile": "I am a farmer."},
        {"user_input": PROBLEM, "stakeholder_id": "nobody", "stakeholder_profile": "I am a nurse."},
        {"user_input": PROBLEM, "stakeholder_id": "university_student_18_24", "extra": [1]},
        {
            "user_input": PROBLEM,
            "stakeholder_id": "senior_retiree_65_plus",
            "max_interview_messages": None,
        },
    ]
    for body in accepted:
        assert api.create(**body).status_code == 202, body
    lone = b'{"user_input": "\\ud800", "stakeholder_profile": "I am a pilot."}'
    response = api.http.post("/api/simulations", content=lone)
    assert response.status_code == 202
    _, events = api.events(response.json()["simulation_id"])
    assert payloads(events, "simulation.started") == [
        {"max_interview_messages": 8, "user_input": "\ud800"}
    ]
    answers = [m["content"] for m in payloads(events, "interview.message") if m["role"] == "user"]
    assert all(answer.startswith("As someone who is a pilot,") for answer in answers)


def test_unknown_paths_and_methods() -> None:
    api = Api()
    missing = api.http.get("/api/nowhere")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    wrong = api.http.delete("/api/simulations")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert api.http.post("/api/stakeholders").headers["allow"] == "GET"


def test_rate_limit_when_asked_for() -> None:
    clock = VirtualClock()
    sim = InterrogationSimulator(clock=clock, rate_limit=(1, 0.5))
    client = httpx.Client(base_url=BASE, transport=httpx.MockTransport(sim.handle))
    assert client.get("/api/stakeholders").status_code == 200
    refused = client.get("/api/stakeholders")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
    clock.sleep(2)
    assert client.get("/api/stakeholders").status_code == 200


def test_determinism() -> None:
    def transcript(seed: int) -> list[bytes]:
        api = Api(seed=seed)
        out = []
        for body in ({"max_interview_messages": 6}, {"stakeholder_profile": "I am a chef."}):
            simulation_id = api.start(**body)
            out.append(api.http.get(f"/api/simulations/{simulation_id}/events").content)
            out.append(api.http.get(f"/api/simulations/{simulation_id}").content)
        return out

    assert transcript(9) == transcript(9)
    assert transcript(9) != transcript(10)


def test_concurrent_streams_in_threads() -> None:
    api = Api(seed=8)
    ids = [api.start(max_interview_messages=4) for _ in range(4)]
    results: dict[str, list[Sse]] = {}

    def read(simulation_id: str) -> None:
        results[simulation_id] = api.events(simulation_id)[1]

    threads = [threading.Thread(target=read, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert all(results[i][-1].name == "simulation.completed" for i in ids)


# =========================================================================== faults


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_breaks_exactly_its_rule(name: str) -> None:
    broken = DocumentAudit({name}).run()
    assert set(broken) == {FAULTS[name].rule}, broken
    findings = "\n".join(broken[FAULTS[name].rule])
    assert SYMPTOMS[name] in findings, findings


# =========================================================================== served


def test_served_stream_over_real_http() -> None:
    sim = InterrogationSimulator(ScaledClock(speed=200), seed=1)
    with serving(SimulatorApp(sim)) as url, httpx.Client(base_url=url, timeout=10) as client:
        created = client.post(
            "/api/simulations",
            json={"user_input": PROBLEM, "stakeholder_id": "enterprise_it_admin_30_50"},
        )
        assert created.status_code == 202
        run = created.json()
        started = time.monotonic()
        arrivals: list[float] = []
        with connect_sse(client, "GET", run["events_url"]) as source:
            assert source.response.headers["content-type"] == "text/event-stream"
            events = []
            for sse in source.iter_sse():
                arrivals.append(time.monotonic() - started)
                events.append(json.loads(sse.data))
        took = time.monotonic() - started
        assert (
            events[0]["event"] == "sse.connected" and events[-1]["event"] == "simulation.completed"
        )
        assert 0.1 < took < 5 and arrivals[-1] - arrivals[1] > 0.1  # paced, not one burst
        status = client.get(run["details_url"]).json()
        assert status["status"] == "completed"
        assert status["final_answer"] == events[-1]["payload"]["final_answer"]


def test_served_stream_stops_when_the_client_hangs_up() -> None:
    sim = InterrogationSimulator(ScaledClock(speed=2), seed=1)
    with serving(SimulatorApp(sim)) as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            simulation_id = client.post(
                "/api/simulations", json={"user_input": PROBLEM, "stakeholder_profile": "I am."}
            ).json()["simulation_id"]
            with connect_sse(client, "GET", f"/api/simulations/{simulation_id}/events") as source:
                for count, _ in enumerate(source.iter_sse(), 1):
                    if count == 3:
                        break
        [stream] = event_streams(sim)
        assert stream.wait_closed(timeout=3)
        hung_up = time.monotonic()
    assert time.monotonic() - hung_up < 3  # and the server shut down at once after it
