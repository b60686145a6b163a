"""Shared helpers for the Interrogation Agent simulator selftests: a client on a
virtual clock, an SSE reader, and an audit that checks every `IA-*` rule by hand.

The audit identifies events by their data's `event` key (not the `event:`
line), reads the message limit from the request, and compares a resumed
stream with the events of the full stream whose id is greater than
Last-Event-ID: so that each fault shows under its own rule only.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import connect_sse

from jobcontracts.clock import VirtualClock
from jobcontracts.sims.interrogation import BASE_URL, InterrogationSimulator

BASE = BASE_URL
TERMINAL = ("simulation.completed", "simulation.error")
PROFILE_FIELDS = (
    "id",
    "title",
    "profile",
    "age_demography",
    "tech_savviness",
    "product_context",
)
STATUS_KEYS = {"simulation_id", "status", "started_at", "completed_at", "error", "final_answer"}
PROBLEM = "Our trial-to-paid conversion dropped after onboarding changes."


@dataclass(frozen=True)
class Sse:
    """One event as a client sees it: `id:` ("" if none yet), `event:`, parsed data."""

    id: str
    event: str
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """The event's type, as its data says."""
        return str(self.data.get("event"))

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = self.data.get("payload") or {}
        return payload


class Api:
    """A simulator on a virtual clock and a client routed to it."""

    def __init__(self, faults: Iterable[str] = (), *, seed: int = 7) -> None:
        self.clock = VirtualClock()
        self.sim = InterrogationSimulator(clock=self.clock, seed=seed, faults=set(faults))
        self.http = httpx.Client(base_url=BASE, transport=httpx.MockTransport(self.sim.handle))

    def create(self, **body: Any) -> httpx.Response:
        return self.http.post("/api/simulations", json=body)

    def start(self, user_input: str = PROBLEM, **body: Any) -> str:
        body.setdefault("stakeholder_id", "small_business_owner_35_55")
        response = self.create(user_input=user_input, **body)
        assert response.status_code in (200, 202), response.text
        return str(response.json()["simulation_id"])

    def status(self, simulation_id: str) -> dict[str, Any]:
        response = self.http.get(f"/api/simulations/{simulation_id}")
        assert response.status_code == 200, response.text
        record: dict[str, Any] = response.json()
        return record

    def events(
        self,
        simulation_id: str,
        last_event_id: str | None = None,
        *,
        stop_after: int | None = None,
        on_event: Callable[[Sse], None] | None = None,
    ) -> tuple[httpx.Response, list[Sse]]:
        """Read a stream to its end (or `stop_after` events, then hang up)."""
        headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
        url = f"/api/simulations/{simulation_id}/events"
        seen: list[Sse] = []
        with connect_sse(self.http, "GET", url, headers=headers) as source:
            for sse in source.iter_sse():
                seen.append(Sse(sse.id, sse.event, json.loads(sse.data)))
                if on_event is not None:
                    on_event(seen[-1])
                if stop_after is not None and len(seen) >= stop_after:
                    break
            return source.response, seen


def is_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


class Audit:
    """Runs through every endpoint and records which `IA-*` rules were broken."""

    def __init__(self, faults: Iterable[str] = (), seed: int = 7) -> None:
        self.api = Api(faults, seed=seed)
        self.broken: dict[str, list[str]] = {}
        self.records: dict[str, dict[str, Any]] = {}

    def flag(self, rule: str, ok: bool, detail: str) -> None:
        if not ok:
            self.broken.setdefault(rule, []).append(detail)

    def json_error(self, response: httpx.Response) -> None:
        """A 4xx is a JSON error envelope (no fault breaks that)."""
        assert response.headers["content-type"] == "application/json", response.text
        error = response.json()["error"]
        assert is_str(error["code"]) and is_str(error["message"])

    # ------------------------------------------------------------------ status

    def check_status(self, simulation_id: str) -> dict[str, Any]:
        record = self.api.status(simulation_id)
        assert set(record) == STATUS_KEYS  # the id: IA-STAT-3, in DocumentAudit
        status, where = record["status"], f"{simulation_id[:8]} {record}"
        self.flag("IA-STAT-1", status in ("running", "completed", "failed"), where)
        self.flag("IA-STAT-1", (record["completed_at"] is None) == (status == "running"), where)
        self.flag("IA-STAT-1", is_str(record["final_answer"]) == (status == "completed"), where)
        self.flag("IA-STAT-1", (record["error"] is not None) == (status == "failed"), where)
        if record["completed_at"] is not None:
            self.flag("IA-STAT-1", record["completed_at"] >= record["started_at"], where)
        before = self.records.get(simulation_id)
        if before is not None and before["status"] != "running":
            self.flag("IA-STAT-1", record == before, f"{before} -> {record}")
        self.records[simulation_id] = record
        return record

    # ------------------------------------------------------------------ streams

    def check_stream(self, response: httpx.Response, events: list[Sse], simulation_id: str) -> None:
        """IA-SSE-1 on any stream, full or resumed."""
        content_type = response.headers["content-type"].split(";")[0].strip()
        self.flag("IA-SSE-1", content_type == "text/event-stream", content_type)
        for sse in events:
            self.flag("IA-SSE-1", sse.event == sse.name, f"event: {sse.event} for {sse.name}")
            self.flag("IA-SSE-1", sse.data.get("simulation_id") == simulation_id, sse.name)

    def check_run(self, simulation_id: str, limit: int) -> list[Sse]:
        """Read a run's stream from its start, polling the status now and then."""

        def poll(sse: Sse) -> None:
            if sse.name in ("hypothesis.batch_created", "interview.transcript.updated"):
                self.check_status(simulation_id)

        self.check_status(simulation_id)
        response, events = self.api.events(simulation_id, on_event=poll)
        self.check_stream(response, events, simulation_id)
        names = [sse.name for sse in events]
        where = f"{simulation_id[:8]}: {names[:3]}…{names[-3:]}"
        # IA-SSE-2
        self.flag("IA-SSE-2", names[:1] == ["sse.connected"], where)
        with_step = [i for i, sse in enumerate(events) if "step" in sse.payload]
        started = [i for i, name in enumerate(names) if name == "simulation.started"]
        self.flag("IA-SSE-2", len(started) == 1, where)
        self.flag("IA-SSE-2", not with_step or started[:1] < with_step[:1], where)
        terminals = [i for i, name in enumerate(names) if name in TERMINAL]
        self.flag("IA-SSE-2", terminals == [len(events) - 1], where)
        # IA-SSE-3
        ids = [int(sse.id) for sse in events[1:]]
        self.flag("IA-SSE-3", events[0].id == "", f"sse.connected id {events[0].id!r}")
        self.flag("IA-SSE-3", all(a < b for a, b in itertools.pairwise(ids)), f"{ids}")
        steps = [events[i].payload["step"] for i in with_step]
        self.flag("IA-SSE-3", steps == sorted(steps), f"steps {steps}")
        self.flag("IA-SSE-3", names.count("hypothesis.batch_created") == 1, where)
        announced: set[str] = set()
        for sse in events:
            if sse.name == "hypothesis.batch_created":
                batch = sse.payload["hypotheses"]  # its count: IA-SSE-8, in DocumentAudit
                announced |= {item["hypothesis_id"] for item in batch}
            elif "hypothesis_id" in sse.payload:
                hypothesis = sse.payload["hypothesis_id"]
                self.flag("IA-SSE-3", hypothesis in announced, f"{sse.name} for {hypothesis}")
        # IA-SSE-4
        indices: dict[str, list[int]] = {}
        for sse in events:
            payload = sse.payload
            if sse.name == "interview.message":
                indices.setdefault(payload["hypothesis_id"], []).append(payload["message_index"])
            elif sse.name == "interview.transcript.updated":
                sent = len(indices.get(payload["hypothesis_id"], []))
                count = payload["transcript"]["message_count"]
                self.flag("IA-SSE-4", count == sent, f"message_count {count}, sent {sent}")
        for hypothesis, seen in indices.items():
            steps_ok = all(b - a == 1 for a, b in itertools.pairwise(seen))
            self.flag("IA-SSE-4", steps_ok and seen[0] == 0, f"{hypothesis} indices {seen}")
            self.flag("IA-SSE-4", len(seen) <= limit, f"{hypothesis}: {len(seen)} > {limit}")
        # IA-SSE-5
        record = self.check_status(simulation_id)
        if terminals:
            terminal = events[terminals[0]]
            if terminal.name == "simulation.completed":
                agrees = (record["status"], record["final_answer"]) == (
                    "completed",
                    terminal.payload["final_answer"],
                )
            else:
                agrees = (record["status"], record["error"]) == (
                    "failed",
                    terminal.payload["message"],
                )
            self.flag("IA-SSE-5", agrees, f"{terminal.payload} vs {record}")
        return events

    def check_resume(self, simulation_id: str, full: list[Sse]) -> None:
        """IA-SSE-6 after the run: several Last-Event-IDs, each against the full stream."""
        ids = [sse.id for sse in full[1:]]
        for last in sorted({ids[0], ids[len(ids) // 3], ids[len(ids) // 2], ids[-2], ids[-1]}):
            response, resumed = self.api.events(simulation_id, last)
            self.check_stream(response, resumed, simulation_id)
            assert resumed[0].name == "sse.connected"
            expected = [(sse.id, sse.data) for sse in full[1:] if int(sse.id) > int(last)]
            got = [(sse.id, sse.data) for sse in resumed[1:]]
            self.flag("IA-SSE-6", got == expected, f"after {last}: {got[:1]} vs {expected[:1]}")

    def check_reconnect(self, limit: int) -> None:
        """IA-SSE-6 mid-run: hang up after a few events, reconnect, compare with a replay."""
        simulation_id = self.api.start(
            stakeholder_id="university_student_18_24", max_interview_messages=limit
        )
        _, first = self.api.events(simulation_id, stop_after=12)
        _, rest = self.api.events(simulation_id, first[-1].id)
        _, replay = self.api.events(simulation_id)
        got = [(sse.id, sse.data["payload"]) for sse in first[1:] + rest[1:]]
        want = [(sse.id, sse.data["payload"]) for sse in replay[1:]]
        self.flag("IA-SSE-6", got == want, f"reconnect after {first[-1].id}")

    # ------------------------------------------------------------------ requests

    def check_requests(self) -> None:
        api = self.api
        before = len(api.sim.simulations)
        base = {"user_input": PROBLEM, "stakeholder_id": "adult_tech_consumer_30_45"}
        probes: list[tuple[dict[str, Any] | bytes, int]] = [
            ({"stakeholder_id": "adult_tech_consumer_30_45"}, 400),
            ({**base, "user_input": None}, 400),
            ({**base, "user_input": 42}, 400),
            ({"user_input": PROBLEM}, 400),
            ({"user_input": PROBLEM, "stakeholder_id": "", "stakeholder_profile": None}, 400),
            ({**base, "stakeholder_id": "no_such_stakeholder"}, 404),
            ({**base, "max_interview_messages": 1}, 400),
            ({**base, "max_interview_messages": 41}, 400),
            ({**base, "max_interview_messages": 0}, 400),
            ({**base, "max_interview_messages": "8"}, 400),
            ({**base, "max_interview_messages": 8.0}, 400),
            ({**base, "max_interview_messages": True}, 400),
            (b"[]", 400),
            (b"{not json", 400),
            (b"", 400),
        ]
        for body, status in probes:
            if isinstance(body, bytes):
                response = api.http.post("/api/simulations", content=body)
            else:
                response = api.http.post("/api/simulations", json=body)
            self.flag("IA-REQ-1", response.status_code == status, f"{body!r} -> {response}")
            if response.status_code >= 400:
                self.json_error(response)
        self.flag("IA-REQ-1", len(api.sim.simulations) == before, "a refused POST started a run")
        for extra in ({"max_interview_messages": 2}, {"max_interview_messages": 40}, {}):
            self.check_created(api.create(**base, **extra))
        unknown = api.http.get("/api/simulations/00000000-0000-4000-8000-000000000000")
        self.flag("IA-STAT-1", unknown.status_code == 404, f"unknown id -> {unknown}")
        self.json_error(unknown)

    def check_created(self, response: httpx.Response) -> str:
        """IA-REQ-2 on one accepted POST."""
        where = f"POST -> {response.status_code} {response.text[:120]}"
        self.flag("IA-REQ-2", response.status_code == 202, where)
        body = response.json()
        simulation_id = body["simulation_id"]
        self.flag("IA-REQ-2", is_str(simulation_id) and body.get("status") == "running", where)
        details = self.api.http.get(body["details_url"])
        # resolves; that it is this simulation's record is IA-STAT-3's (DocumentAudit)
        self.flag("IA-REQ-2", details.status_code == 200,
                  f"details_url {body['details_url']} -> {details}")
        with self.api.http.stream("GET", body["events_url"]) as events:
            self.flag("IA-REQ-2", events.status_code == 200, f"events_url -> {events}")
        return str(simulation_id)

    def check_catalog(self) -> None:
        response = self.api.http.get("/api/stakeholders")
        assert response.status_code == 200
        entries = response.json()["stakeholders"]
        for entry in entries:
            complete = all(is_str(entry.get(name)) for name in PROFILE_FIELDS)
            self.flag("IA-CAT-1", complete, f"{entry.get('id')} lacks a field")
        ids = [entry.get("id") for entry in entries]
        self.flag("IA-CAT-1", len(ids) == len(set(ids)), f"ids {ids}")
        for stakeholder_id in ids:
            created = self.api.create(user_input=PROBLEM, stakeholder_id=stakeholder_id)
            self.flag("IA-CAT-1", created.status_code in (200, 202), f"{stakeholder_id} refused")

    # ------------------------------------------------------------------ the audit

    def run(self) -> dict[str, list[str]]:
        self.check_catalog()
        self.check_requests()
        runs: list[tuple[dict[str, Any], str]] = [
            ({"stakeholder_id": "adult_tech_consumer_30_45", "max_interview_messages": 8}, PROBLEM),
            (
                {
                    "stakeholder_profile": "I am a 40 year old operations manager.",
                    "max_interview_messages": 2,
                },
                "Users stop using our app after week 1.",
            ),
            ({"stakeholder_id": "senior_retiree_65_plus", "max_interview_messages": 5}, PROBLEM),
            ({"max_interview_messages": 6}, "Please FAIL this run: activation is dropping."),
        ]
        for body, user_input in runs:
            response = self.api.create(
                user_input=user_input, **{"stakeholder_id": "enterprise_it_admin_30_50", **body}
            )
            simulation_id = self.check_created(response)
            events = self.check_run(simulation_id, int(body["max_interview_messages"]))
            self.api.clock.sleep(300)
            self.check_status(simulation_id)
            self.check_resume(simulation_id, events)
        self.check_reconnect(4)
        return self.broken
