"""Self-tests of the WebSocket event-stream rule kinds
(jobcontracts.oracles.ws_events, ws_across) on hand-built connections: satisfied,
violated, not reached, and garbage (never an exception)."""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from jobcontracts.contract import Contract
from jobcontracts.loader import load_contract
from jobcontracts.trace import HUNG_UP, Exchange, WsMessage

from .oracle_kit import BASE, Traffic, broken, check, ok

JOB = "js_1"
TYPES = ["tool_started", "tool_finished", "agent_step_started", "agent_step_finished",
         "orchestration_transition", "status", "progress", "completed", "failed",
         "slot_needed", "keepalive", "agent_text", "agent_text_done"]
DEADLINE = "stream deadline: no terminal message within 600 s"

CONTRACT_YAML = f"""
api: jobs
title: Jobs (selftest)
document: jobs-sdk-types.md
target: {{url_env: JOBS_API_URL, key_env: JOBS_API_KEY, simulator: jobs}}
endpoints:
  get_goal: {{method: GET, path: "/v1/goals/{{job_spec_id}}"}}
  goal_events: {{method: GET, path: "/v1/goals/{{job_spec_id}}/events", streams: true}}
records:
  goal: {{sources: [get_goal@200], key: job_spec_id}}
settings:
  event_types: {json.dumps(TYPES)}
  terminal_events: [completed, failed]
  terminal_if: {{status: {{data.status: cancelled}}}}
rules:
  - id: JOB-EVT-1
    source: assumed
    description: each event's grammar; exactly one terminal event ends the stream.
    checks:
      - kind: ws_events
        request: goal_events
        types: $event_types
        terminal: $terminal_events
        terminal_if: $terminal_if
  - id: JOB-EVT-2
    source: assumed
    description: how the stream ends, alone.
    checks:
      - kind: ws_events
        request: goal_events
        types: $event_types
        terminal: $terminal_events
        terminal_if: $terminal_if
        parts: [ending]
  - id: JOB-EVT-3
    source: assumed
    description: the stream agrees with the job.
    checks:
      - kind: ws_agrees_with_job
        request: goal_events
        record: goal
        terminal: $terminal_events
        terminal_if: $terminal_if
        terminal_status: {{failed: failed}}
        in_progress: [executing]
  - id: JOB-EVT-4
    source: assumed
    description: after_seq resumes after event N.
    checks:
      - kind: ws_resumption
        request: goal_events
"""


@cache
def contract() -> Contract:
    path = Path(tempfile.mkdtemp()) / "jobs.yaml"
    path.write_text(CONTRACT_YAML, encoding="utf-8")
    return load_contract(path)


def ev(kind: str, seq: int, job: str = JOB, **data: Any) -> dict[str, Any]:
    return {"type": kind, "seq": seq, "job_spec_id": job, "schema_version": 1,
            "emitted_at": f"2026-01-05T09:00:{seq % 60:02d}Z", "data": data}


def run(*middle: dict[str, Any], start: int = 1) -> list[dict[str, Any]]:
    """status, the middle events, completed: a full stream."""
    events = [ev("status", start, status="executing"), *middle]
    return [*events, ev("completed", start + len(events), status="completed")]


class WsTraffic(Traffic):
    def ws(self, events: list[Any], *, job: str = JOB, after: int | None = None,
           close: int | None = 1000, error: str | None = None, status: int = 101,
           credential: str = "valid") -> Exchange:
        """One connection receiving `events` (dicts as JSON text, str as is,
        bytes as binary messages)."""
        self.now += 1.0
        messages = tuple(WsMessage("receive", self.now + i * 0.01,
                                   json.dumps(e) if isinstance(e, dict) else e)
                         for i, e in enumerate(events))
        query = "" if after is None else f"?after_seq={after}"
        ex = Exchange(
            seq=self.trace.next_seq(), method="GET",
            url=f"{BASE}/v1/goals/{job}/events{query}",
            request_headers={"Upgrade": "websocket", "Connection": "Upgrade"},
            request_body=b"", status=status, response_headers={"Upgrade": "websocket"},
            response_body=b"", started_at=self.now, finished_at=self.now + 0.5,
            credential=credential, error=error, ws_messages=messages,
            ws_close_code=close if error is None else None)
        self.trace.append(ex)
        return ex

    def goal(self, status: str = "completed", *, job: str = JOB, **fields: Any) -> Exchange:
        return self("GET", f"/v1/goals/{job}", 200,
                    {"job_spec_id": job, "status": status, "pending_slots": [],
                     "filled_slots": {}, **fields})


def judge(rule: str, t: WsTraffic) -> Any:
    kind = {"JOB-EVT-1": "ws_events", "JOB-EVT-2": "ws_events", "JOB-EVT-3": "ws_agrees_with_job",
            "JOB-EVT-4": "ws_resumption"}[rule]
    return check(rule, kind, t, contract=contract())


# ---- ws_events (JOB-EVT-1, JOB-EVT-2) -------------------------------------------------


def test_a_conforming_stream_passes_and_refusals_are_not_reached() -> None:
    t = WsTraffic()
    t.ws([], status=401, close=None)
    t.ws(run(), credential="invalid", status=101)
    ok(judge("JOB-EVT-1", t), reached=0)
    t.ws(run(ev("keepalive", 2), ev("progress", 3, progress=10)))
    cancelled = [ev("status", 1, status="queued"), ev("status", 2, status="cancelled")]
    t.ws(cancelled)
    ok(judge("JOB-EVT-1", t), reached=2)


@pytest.mark.parametrize(("event", "says"), [
    (ev("progres", 2), "type is not one of the 13 event types"),
    (ev("progress", 2, job="js_2"), "job_spec_id is not the job of the URL"),
    ({**ev("progress", 2), "schema_version": 0}, "schema_version is not an integer ≥ 1"),
    ({**ev("progress", 2), "schema_version": True}, "schema_version is not an integer ≥ 1"),
    ({**ev("progress", 2), "seq": "2"}, "seq is not an integer"),
    (ev("progress", 1), "seq does not strictly increase"),
    ({**ev("progress", 2), "emitted_at": "2026-01-05T08:00:00Z"}, "emitted_at goes down"),
    ("not json", "a message is not a JSON object"),
    ("[1, 2]", "a message is not a JSON object"),
    (b'{"type": "progress"}', "a binary message, not a text one"),
])
def test_each_grammar_breach_is_a_violation(event: Any, says: str) -> None:
    t = WsTraffic()
    t.ws([ev("status", 1), event, ev("completed", 3)])
    broken(judge("JOB-EVT-1", t), 1, says=says)


def test_exactly_one_terminal_event_ends_the_stream_with_a_normal_close() -> None:
    cases: list[tuple[list[Any], dict[str, Any], str]] = [
        ([*run(), ev("keepalive", 9)], {}, "follows the terminal"),
        ([*run(), ev("failed", 9)], {}, "2 terminal events"),
        ([ev("status", 1), ev("status", 2, status="cancelled"), ev("progress", 3)], {},
         "follows the terminal"),
        (run(), {"close": 1011}, "closed with code 1011, not 1000"),
        ([ev("status", 1)], {}, "the server closed with no terminal event"),
        ([ev("status", 1)], {"error": "connection closed without a close frame"},
         "the server broke the connection"),
        (run(), {"error": "protocol error: invalid UTF-8"}, "the server broke the connection"),
        (run(), {"error": "stream deadline: still open 5 s after the terminal message"},
         "the server did not close after completed"),
    ]
    for events, how, says in cases:
        t = WsTraffic()
        t.ws(events, **how)
        broken(judge("JOB-EVT-1", t), 1, says=says)


def test_a_stream_the_client_stopped_is_judged_for_what_it_has() -> None:
    t = WsTraffic()
    t.ws([ev("status", 1), ev("keepalive", 2)], error=DEADLINE)
    t.ws([ev("status", 1)], error=f"{HUNG_UP} after 1 message(s)")
    t.ws([*run()][:-1], error="ReadError: reset")
    t.ws([ev("completed", 7)], after=6)                # resumed: ends at its terminal
    t.ws([], after=7)                                   # resumed after the end: nothing to send
    t.ws([ev("status", 1)], close=None)                 # a recording that kept no close
    ok(judge("JOB-EVT-1", t), reached=6)


def test_an_empty_full_stream_closed_by_the_server_has_no_terminal() -> None:
    t = WsTraffic()
    t.ws([])
    broken(judge("JOB-EVT-1", t), 1, says="no terminal event (completed/failed/status)")


# ---- ws_agrees_with_job (JOB-EVT-3) -----------------------------------------------------


def test_a_stream_agreeing_with_its_job_passes() -> None:
    t = WsTraffic()
    t.goal("slots_pending", pending_slots=[{"slot_id": "tone"}])
    t.ws(run(ev("slot_needed", 2, slot_id="tone"), ev("progress", 3, progress=10),
             ev("tool_started", 4, call_id="c1"), ev("agent_text", 5, text="hi"),
             ev("agent_text", 6, text="!"), ev("agent_text_done", 7),
             ev("tool_finished", 8, call_id="c1"), ev("progress", 9, progress=90)))
    t.goal("executing")                                  # in progress: the next one counts
    t.goal("completed")
    ok(judge("JOB-EVT-3", t), reached=1)


def test_a_slot_the_job_never_showed() -> None:
    t = WsTraffic()
    t.goal("analyzing")
    t.ws(run(ev("slot_needed", 2, slot_id="colour")))
    ok(judge("JOB-EVT-3", t))                            # no poll showed the slots yet
    t.goal("completed", filled_slots={"tone": "dry"})
    broken(judge("JOB-EVT-3", t), 2, says="slot_needed names a slot the job never showed")


def test_progress_going_down_along_a_stream() -> None:
    t = WsTraffic()
    t.ws(run(ev("progress", 2, progress=50), ev("progress", 3, progress=40)))
    broken(judge("JOB-EVT-3", t), 1, says="data.progress goes down from 50")


def test_the_terminal_event_disagrees_with_the_next_poll() -> None:
    t = WsTraffic()
    t.ws([ev("status", 1), ev("completed", 2, status="partial")])
    t.goal("completed")
    broken(judge("JOB-EVT-3", t), 1, 2, says="says 'partial'")
    t = WsTraffic()
    t.ws([ev("status", 1), ev("failed", 2)])             # status from terminal_status
    t.goal("completed")
    broken(judge("JOB-EVT-3", t), 1, 2, says="says 'failed'")
    t = WsTraffic()
    t.ws([ev("status", 1), ev("status", 2, status="cancelled")])
    t.goal("cancelled")
    ok(judge("JOB-EVT-3", t))


def test_closing_events_follow_their_openers_on_a_full_stream() -> None:
    t = WsTraffic()
    t.ws(run(ev("tool_started", 2, call_id="a"), ev("tool_finished", 3, call_id="b")))
    broken(judge("JOB-EVT-3", t), 1, says="follows no tool_started with it")
    t = WsTraffic()
    t.ws(run(ev("agent_text", 2), ev("agent_text_done", 3), ev("agent_text_done", 4)))
    broken(judge("JOB-EVT-3", t), 1, says="does not follow a agent_text")
    t = WsTraffic()
    t.ws([ev("tool_finished", 5, call_id="a"), ev("completed", 6)], after=4)  # resumed
    ok(judge("JOB-EVT-3", t))


# ---- ws_resumption (JOB-EVT-4) ---------------------------------------------------------


FULL = run(ev("progress", 2, progress=10), ev("keepalive", 3), ev("progress", 4, progress=50))


def test_a_resumed_stream_with_exactly_the_later_events_passes() -> None:
    t = WsTraffic()
    t.ws([ev("status", 1)], after=None, error=f"{HUNG_UP} after 1 message(s)")
    ok(judge("JOB-EVT-4", t), reached=0)                 # nothing resumed yet
    t.ws(FULL)
    t.ws([ev("keepalive", 0), *FULL[2:]], after=2)       # keepalives are per connection
    ok(judge("JOB-EVT-4", t), reached=1)


@pytest.mark.parametrize(("resumed", "says"), [
    (FULL[1:], "resumed after 2 but re-sent"),
    ([FULL[4]], "progress (seq 4) is missing"),
    ([FULL[2], ev("progress", 3, progress=20), *FULL[3:]], "progress (seq 3) is extra"),
    (FULL[2:4], "event(s) missing from completed"),
    ([*FULL[2:], ev("keepalive", 9), ev("status", 9)], "extra event(s)"),
    ([FULL[2], {**FULL[3], "data": {"progress": 51}}, FULL[4]], "differs"),
])
def test_a_resumed_stream_that_repeats_skips_or_changes_events(resumed: Any,
                                                               says: str) -> None:
    t = WsTraffic()
    t.ws(FULL)
    t.ws(resumed, after=2)
    broken(judge("JOB-EVT-4", t), 1, 2, says=says)


def test_streams_cut_short_are_compared_within_what_both_covered() -> None:
    t = WsTraffic()
    t.ws(FULL[:4], error=f"{HUNG_UP} after 4 message(s)")
    t.ws(FULL[2:], after=2)                              # goes on past the reference
    t.ws(FULL[2:4], after=2, error=DEADLINE)              # stops before the other does
    ok(judge("JOB-EVT-4", t), reached=2)
    t.ws(FULL[4:], after=2)                              # but skips one both covered
    broken(judge("JOB-EVT-4", t), 2, 4, says="progress (seq 4) is missing")


def test_a_repeated_seq_aligns_nothing_and_is_the_seq_rules() -> None:
    """Both streams are compared only where each one's seqs increase: with a
    seq sent twice, either copy could be the one to line up, so any finding
    would be a guess. JOB-EVT-1 reports the repeat."""
    t = WsTraffic()
    t.ws([*FULL[:4], FULL[3], FULL[4]])                  # the reference repeats seq 4
    t.ws(FULL[2:], after=2)
    ok(judge("JOB-EVT-4", t), reached=0)
    broken(judge("JOB-EVT-1", t), 1, says="seq")
    t = WsTraffic()
    t.ws(FULL)
    t.ws([FULL[3], FULL[3], FULL[4]], after=2)           # the resumed stream repeats it
    ok(judge("JOB-EVT-4", t), reached=0)
    t = WsTraffic()
    t.ws(FULL)
    t.ws([FULL[1], FULL[1], *FULL[3:]], after=2)         # unordered, and re-sends seq 2
    broken(judge("JOB-EVT-4", t), 2, says="resumed after 2 but re-sent")


def test_garbage_never_raises() -> None:
    t = WsTraffic()
    for events in (["{", b"\xff\xfe", "null", '{"type": 5, "seq": null, "data": 7}'],
                   [{"type": "completed", "seq": 2, "data": None}, "[]"]):
        t.ws(events, after=1)
        t.ws(events)
    t.goal("completed", pending_slots="x", filled_slots=[1])
    t("GET", f"/v1/goals/{JOB}", 200, raw=b"not json")
    for rule in ("JOB-EVT-1", "JOB-EVT-3", "JOB-EVT-4"):
        judge(rule, t)


def test_parts_split_the_grammar_from_the_ending() -> None:
    t = WsTraffic()
    t.ws([ev("progres", 1), ev("completed", 2)])
    ok(judge("JOB-EVT-2", t))
    t = WsTraffic()
    t.ws(run(), close=1011)
    broken(judge("JOB-EVT-2", t), 1, says="closed with code 1011")
