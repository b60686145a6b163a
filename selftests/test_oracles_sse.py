"""Self-tests of the event-stream rule kinds (jobcontracts.oracles.sse), each
in its real rule of contracts/interrogation.yaml: satisfied, violated, and not
reached, on hand-built streams."""

from __future__ import annotations

from jobcontracts.trace import HUNG_UP

from .oracle_kit import broken, ok
from .sse_kit import (
    ANSWER,
    SIM,
    IaTraffic,
    connected,
    frame,
    frames,
    ia,
    message,
    run_events,
    transcript,
)

DEADLINE = "stream deadline: no terminal event within 1800 s"


def full(t: IaTraffic, **kw: object) -> None:
    t.stream(frames(run_events(**kw)))  # type: ignore[arg-type]


# ---- sse_grammar (IA-SSE-1) -----------------------------------------------------------


def test_grammar_satisfied_and_not_reached() -> None:
    t = IaTraffic()
    t.stream("{}", status=404, ctype="application/json")
    ok(ia("IA-SSE-1", "sse_grammar", t), reached=0)
    full(t)
    t.stream([connected()], last="9")
    ok(ia("IA-SSE-1", "sse_grammar", t), reached=2)


def test_grammar_content_type() -> None:
    t = IaTraffic()
    t.stream('{"status": "running"}', ctype="application/json")
    broken(ia("IA-SSE-1", "sse_grammar", t), 1, says="not text/event-stream")


def test_grammar_event_line_and_simulation_id() -> None:
    t = IaTraffic()
    t.stream([connected(), frame("simulation.step", {"step": 1}, 0, line="simulation.state"),
              frame("agent.update", {"step": 1}, 1, sim=SIM.replace("-", ""))])
    v = ia("IA-SSE-1", "sse_grammar", t)
    broken(v, 1, says="the event: line is not data.event")
    assert any("simulation_id is not the stream's" in x.why for x in v.violations)


def test_grammar_data_must_be_a_json_object() -> None:
    t = IaTraffic()
    t.stream([connected(), frame("x", data="not json", event_id=0)])
    broken(ia("IA-SSE-1", "sse_grammar", t), 1, says="data is not a JSON object")


def test_comments_and_empty_data_are_not_events() -> None:
    t = IaTraffic()
    t.stream([connected(), ": keep-alive\n", "id: 0\n\n", ": ping\n\n",
              frame("simulation.started", {}, 0)])
    ex = t.trace.exchanges[-1]
    assert [e.event for e in ex.events] == ["sse.connected", "simulation.started"]
    assert [e.id for e in ex.events] == ["", "0"]
    ok(ia("IA-SSE-1", "sse_grammar", t), reached=1)


def test_a_leading_byte_order_mark_is_not_part_of_the_first_field() -> None:
    t = IaTraffic()
    t.stream("\ufeff" + "".join(frames(run_events())))
    assert t.trace.exchanges[-1].events[0].event == "sse.connected"
    ok(ia("IA-SSE-1", "sse_grammar", t), reached=1)


# ---- sse_order (IA-SSE-2) --------------------------------------------------------------


def test_order_satisfied() -> None:
    t = IaTraffic()
    full(t)
    full(t, failed=True)
    t.stream(frames(run_events())[:4], error=f"{HUNG_UP} after 4 event(s)")  # hung up
    t.stream([connected()], last="9")  # resumed after the end: nothing more
    t.stream([connected()], last="9", error="stream deadline: no terminal event within 5 s")
    ok(ia("IA-SSE-2", "sse_order", t), reached=5)


def test_order_needs_a_terminal_event_on_a_full_stream() -> None:
    t = IaTraffic()
    t.stream(frames(run_events()[:-1]))
    t.stream(frames(run_events()[:-1]), error=DEADLINE)
    t.stream(frames(run_events()[:-1]), error="timed out (ReadTimeout)")
    v = ia("IA-SSE-2", "sse_order", t)
    broken(v, 1, 2, 3, says="the stream has no terminal event")
    assert any(DEADLINE in x.why for x in v.violations)


def test_order_nothing_after_the_terminal_event() -> None:
    t = IaTraffic()
    events = run_events()
    t.stream([*frames(events), frame("agent.update", {"step": 6}, 10)])
    t.stream([*frames(events), frame("simulation.error", {"message": "x"}, 10)])
    t.stream(frames(events), error="stream deadline: still open 5 s after the terminal event")
    v = ia("IA-SSE-2", "sse_order", t)
    broken(v, 1, 2, 3, says="follows the terminal")
    assert {x.why.split(":")[0] for x in v.violations} >= {
        "2 terminal events", "the stream did not end after simulation.completed (id 9)"}


def test_order_started_once_before_any_step() -> None:
    events = run_events()
    t = IaTraffic()
    t.stream(frames([*events[:3], events[0], *events[3:]]))
    broken(ia("IA-SSE-2", "sse_order", t), 1, says="simulation.started came 2 times")
    t = IaTraffic()
    t.stream(frames([events[1], events[0], *events[2:]]))
    broken(ia("IA-SSE-2", "sse_order", t), 1, says="agent.update (id 0) came before")
    t = IaTraffic()
    t.stream(frames(events[1:]))
    broken(ia("IA-SSE-2", "sse_order", t), 1, says="simulation.started came 0 times")


def test_order_connected_first() -> None:
    t = IaTraffic()
    body = frames(run_events())
    t.stream([body[1], body[0], *body[2:]])
    broken(ia("IA-SSE-2", "sse_order", t), 1, says="the first event is simulation.started")


# ---- sse_sequence (IA-SSE-3) -----------------------------------------------------------


def test_sequence_satisfied_and_non_numeric_ids() -> None:
    t = IaTraffic()
    full(t)
    t.stream([connected(), *[frame(n, p, f"ev-{i}") for i, (n, p) in
                             enumerate(run_events(failed=True))]])
    t.stream([connected(), frame("interview.message", message(5, "h-2", 0), 7)], last="6")
    ok(ia("IA-SSE-3", "sse_sequence", t), reached=3)


def test_sequence_ids_strictly_increase() -> None:
    t = IaTraffic()
    body = frames(run_events())
    t.stream([*body[:5], body[5].replace("id: 4", "id: 3"), *body[6:]])
    broken(ia("IA-SSE-3", "sse_sequence", t), 1, says="id 3 (interview.transcript.updated) "
           "does not increase on id 3 (interview.message)")


def test_sequence_steps_never_go_down() -> None:
    events = run_events()
    events[7] = ("interview.message", message(2, "h-2", 0))
    t = IaTraffic()
    t.stream(frames(events))
    broken(ia("IA-SSE-3", "sse_sequence", t), 1, says="payload.step goes down from 4")


def test_sequence_one_batch_announcing_every_hypothesis() -> None:
    events = run_events()
    twice = [*events[:3], events[2], *events[3:]]
    unannounced = [*events[:-1], ("interview.message", message(6, "h-3", 0)), events[-1]]
    without = events[:2] + events[3:]
    for body, says in [(twice, "came 2 times"), (unannounced, "'h-3' in interview.message"),
                       (without, "came 0 times")]:
        t = IaTraffic()
        t.stream(frames(body))
        broken(ia("IA-SSE-3", "sse_sequence", t), 1, says=says)
    failed_early = [*events[:2], ("simulation.error", {"message": "x"})]
    t = IaTraffic()
    t.stream(frames(failed_early))
    ok(ia("IA-SSE-3", "sse_sequence", t), reached=1)


# ---- sse_counters (IA-SSE-4) -----------------------------------------------------------


def test_counters_satisfied_and_not_reached_on_a_resumed_stream() -> None:
    t = IaTraffic()
    t.stream(frames(run_events()[6:], first_id=6), last="5")
    ok(ia("IA-SSE-4", "sse_counters", t), reached=0)
    t.create({"user_input": "x", "stakeholder_id": "a", "max_interview_messages": 2})
    full(t)
    ok(ia("IA-SSE-4", "sse_counters", t), reached=1)


def test_counters_index_and_count() -> None:
    events = run_events()
    events[5] = ("interview.message", message(4, "h-1", 2))
    t = IaTraffic()
    t.stream(frames(events))
    broken(ia("IA-SSE-4", "sse_counters", t), 1, says="h-1: message_index 2 after 0")
    events = run_events()
    events[6] = ("interview.transcript.updated", transcript(4, "h-1", 3))
    t = IaTraffic()
    t.stream(frames(events))
    broken(ia("IA-SSE-4", "sse_counters", t), 1, says="message_count=3 after 2")


def test_counters_limit_from_the_request_then_the_started_event() -> None:
    events = run_events(limit=8)
    events[8:8] = [("interview.message", message(5, "h-1", 2))]
    t = IaTraffic()
    t.create({"user_input": "x", "stakeholder_id": "a", "max_interview_messages": 2})
    t.stream(frames(events))
    broken(ia("IA-SSE-4", "sse_counters", t), 2, says="h-1: more than 2 messages")
    t = IaTraffic()
    t.stream(frames(events))  # no request in the trace: the started event says 8
    ok(ia("IA-SSE-4", "sse_counters", t), reached=1)
    t = IaTraffic()
    t.stream(frames(run_events(limit=1)))
    broken(ia("IA-SSE-4", "sse_counters", t), 1, says="more than 1 messages")


# ---- sse_agrees_with_status (IA-SSE-5) -------------------------------------------------


def test_agrees_satisfied_after_a_lagging_poll() -> None:
    t = IaTraffic()
    full(t)
    t.status("running")
    t.status("completed")
    full(t, failed=True)
    t.status("failed")
    ok(ia("IA-SSE-5", "sse_agrees_with_status", t), reached=2)


def test_agrees_not_reached_without_a_later_settled_poll_or_a_terminal() -> None:
    t = IaTraffic()
    t.status("completed")
    full(t)
    t.status("running")
    t.stream(frames(run_events()[:-1]))
    t.status("completed")
    ok(ia("IA-SSE-5", "sse_agrees_with_status", t), reached=1)  # only the first stream


def test_agrees_final_answer_and_error() -> None:
    t = IaTraffic()
    full(t)
    t.status("completed", final_answer="A draft.")
    broken(ia("IA-SSE-5", "sse_agrees_with_status", t), 1, 2,
           says="final_answer='A draft.' but simulation.completed (id 9) has "
                f"payload.final_answer={ANSWER!r}")
    t = IaTraffic()
    full(t, failed=True)
    t.status("failed", error="Simulation failed.")
    broken(ia("IA-SSE-5", "sse_agrees_with_status", t), 1, 2, says="error='Simulation failed.'")
    t = IaTraffic()
    full(t, failed=True)
    t.status("completed")
    broken(ia("IA-SSE-5", "sse_agrees_with_status", t), 1, 2, says="status='completed' after")


# ---- sse_resume (IA-SSE-6) -------------------------------------------------------------


def test_resume_satisfied() -> None:
    t = IaTraffic()
    body = frames(run_events())
    t.stream(body[:6], error=f"{HUNG_UP} after 6 event(s)")
    t.stream([connected(), *body[6:]], last="4")  # mid-run
    full(t)  # the reference
    t.stream([connected()], last="9")  # after the end
    t.stream([connected(), *body[2:4]], last="0", error=f"{HUNG_UP} after 3 event(s)")
    ok(ia("IA-SSE-6", "sse_resume", t), reached=3)


def test_resume_repeats_or_loses_an_event() -> None:
    body = frames(run_events())
    for resumed, says in [(body[5:], "event 1 after it is interview.transcript.updated (id 4)"),
                          (body[7:], "event 1 after it is interview.transcript.updated (id 6)"),
                          (body[6:-1], "1 event(s) missing from simulation.completed"),
                          ([*body[6:], frame("agent.update", {"step": 6}, 10)],
                           "1 extra event(s) from agent.update (id 10)")]:
        t = IaTraffic()
        full(t)
        t.stream([connected(), *resumed], last="4")
        broken(ia("IA-SSE-6", "sse_resume", t), 1, 2, says=says)


def test_resume_cut_short() -> None:
    body = frames(run_events())
    t = IaTraffic()
    full(t)
    t.stream([connected(), *body[6:8]], last="4", error=f"{HUNG_UP} after 3 event(s)")
    t.stream([connected(), *body[6:], frame("agent.update", {"step": 6}, 10)], last="4",
             error="stream deadline: still open 5 s after the terminal event")
    broken(ia("IA-SSE-6", "sse_resume", t), 1, 3, says="1 extra event(s) from agent.update")
    t = IaTraffic()  # the reference itself cut short: only what both have is compared
    t.stream(body[:8], error="timed out (ReadTimeout)")
    t.stream([connected(), *body[6:]], last="4")
    ok(ia("IA-SSE-6", "sse_resume", t), reached=0)  # no terminal in it: not a reference
    t.stream([*body, frame("agent.update", {"step": 6}, 10)],
             error="stream deadline: still open 5 s after the terminal event")
    ok(ia("IA-SSE-6", "sse_resume", t), reached=1)


def test_resume_not_reached() -> None:
    t = IaTraffic()
    body = frames(run_events())
    t.stream([connected(), *body[6:]], last="4")  # no full stream to compare with
    t.stream(body[:3], error=f"{HUNG_UP} after 3 event(s)")  # hung up: no reference
    t.stream([connected(), *body[6:]], last="ev-4")  # an id the full stream never had
    ok(ia("IA-SSE-6", "sse_resume", t), reached=0)
    full(t)
    ok(ia("IA-SSE-6", "sse_resume", t), reached=1)
