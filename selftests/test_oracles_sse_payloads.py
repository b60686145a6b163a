"""Self-tests of the event-payload rule kinds (jobcontracts.oracles.sse_payloads),
in their real rules IA-SSE-7 and IA-SSE-8 of contracts/interrogation.yaml,
over hand-built streams: satisfied, violated, nothing to judge."""

from __future__ import annotations

from typing import Any

from .oracle_kit import broken, ok
from .sse_kit import SIM, IaTraffic, connected, frame, frames, ia, run_events


def at(name: str, payload: Any, event_id: int | None, timestamp: Any) -> str:
    return frame(name, data={"event": name, "timestamp": timestamp, "simulation_id": SIM,
                             "payload": payload})


# ---- IA-SSE-7 ------------------------------------------------------------------------


def test_every_event_carries_a_numeric_timestamp_and_an_object_payload() -> None:
    t = IaTraffic()
    t.stream(frames(run_events()))
    ok(ia("IA-SSE-7", "sse_data_types", t), reached=1)
    t.stream([connected(), frame("simulation.started", data={
        "event": "simulation.started", "timestamp": "2026-01-01T00:00:00Z",
        "simulation_id": SIM, "payload": []})])
    broken(ia("IA-SSE-7", "sse_data_types", t), 2,
           says="simulation.started (event 1) timestamp: '2026-01-01T00:00:00Z' is not a number")


def test_connected_says_running_when_the_run_goes_on_after_it() -> None:
    t = IaTraffic()
    t.stream([at("sse.connected", {"status": "running"}, None, 10.0),
              at("simulation.started", {}, 0, 10.5)])
    # A finished run replayed: nothing after the connection is newer.
    t.stream([at("sse.connected", {"status": "completed"}, None, 99.0),
              at("simulation.started", {}, 0, 10.5)])
    ok(ia("IA-SSE-7", "sse_connected_status", t), reached=1)
    t.stream([at("sse.connected", {"status": "queued"}, None, 10.0),
              at("simulation.started", {}, 0, 10.0), at("agent.update", {}, 1, 11.0)])
    broken(ia("IA-SSE-7", "sse_connected_status", t), 3,
           says="sse.connected says payload.status='queued', but agent.update (event 2)")


# ---- IA-SSE-8 ------------------------------------------------------------------------


def started_run(req: dict[str, Any], **started: Any) -> IaTraffic:
    t = IaTraffic()
    t.create(req)
    t.stream(frames([("simulation.started", {"max_interview_messages": 8, "user_input": "x",
                                             **started})]))
    return t


def test_started_echoes_what_the_request_sent() -> None:
    ok(ia("IA-SSE-8", "sse_echo", started_run({"user_input": "x",
                                                "max_interview_messages": 8})), reached=2)
    # No limit asked for: the server's choice is not judged.
    ok(ia("IA-SSE-8", "sse_echo", started_run({"user_input": "x"})), reached=1)
    broken(ia("IA-SSE-8", "sse_echo", started_run({"user_input": "x y z"})), 2,
           says="payload.user_input='x', but the request sent user_input='x y z'")


def test_a_batch_counts_its_hypotheses() -> None:
    t = IaTraffic()
    t.stream(frames(run_events()))
    ok(ia("IA-SSE-8", "sse_count", t), reached=1)
    t.stream(frames([("hypothesis.batch_created", {"count": 3, "hypotheses": [{}, {}]})]))
    broken(ia("IA-SSE-8", "sse_count", t), 2, says="payload.count=3 but payload.hypotheses lists 2")


def test_a_message_is_the_user_s_or_the_assistant_s() -> None:
    t = IaTraffic()
    t.stream(frames(run_events()))
    ok(ia("IA-SSE-8", "sse_enum", t), reached=3)
    t.stream(frames([("interview.message", {"hypothesis_id": "h-1", "role": "stakeholder"})]))
    broken(ia("IA-SSE-8", "sse_enum", t), 2, says="payload.role='stakeholder' is not one of")


def transcript_run(lag: bool = False, last_index: int | None = None) -> list[tuple[str, Any]]:
    sent: list[dict[str, Any]] = []
    events: list[tuple[str, Any]] = []
    for index, (role, content) in enumerate([("assistant", "Why?"), ("user", "Because.")],
                                            start=1):
        events.append(("interview.message", {"hypothesis_id": "h-1", "message_index": index,
                                             "role": role, "content": content}))
        sent.append({"role": role, "content": content})
        listed = sent[:-1] if lag else list(sent)
        events.append(("interview.transcript.updated", {
            "hypothesis_id": "h-1", "latest_message_role": role,
            "latest_message_index": index if last_index is None else last_index,
            "latest_message_content": content,
            "transcript": {"message_count": len(sent), "messages": listed}}))
    return events


def test_a_transcript_lists_the_messages_sent_so_far() -> None:
    t = IaTraffic()
    t.stream(frames(transcript_run()))  # indices from 1: the base is the server's
    t.stream(frames(transcript_run(lag=True)), last="0")  # resumed: not judged
    ok(ia("IA-SSE-8", "sse_transcripts", t), reached=2)
    t.stream(frames(transcript_run(lag=True)))
    broken(ia("IA-SSE-8", "sse_transcripts", t), 3,
           says="lists 0 message(s) that are not the 1 sent so far")
    t = IaTraffic()
    t.stream(frames(transcript_run(last_index=7)))
    broken(ia("IA-SSE-8", "sse_transcripts", t), 1,
           says="payload.latest_message_index=7, but the last message's payload.message_index=1")
