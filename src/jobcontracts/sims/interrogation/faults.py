"""Named faults of the Interrogation Agent simulator.

Each fault breaks exactly one contract rule (its `rule`, an `IA-*` id of
CONTRACT-DEFAULTS.md) and leaves every other rule intact, so that a contract
suite run against `InterrogationSimulator(faults={name})` must fail on that
rule and on no other.

Where a symptom shows depends on the run: faults on the interview touch the
first hypothesis (every run, failing or not, interviews it fully), faults on
later hypotheses touch ones every run reaches (a failing run fails during its
last hypothesis's interview, after at least one message). `final-answer-differs`
shows only on a completed run, `error-message-differs` only on a failed one.

Faults apply on top of any variant (`choices`), and force what they need
where a variant would hide them: `step-regresses` plans a second hypothesis
even for a variant of one, the resume faults and `ids-repeat` work on the
position of an event, not on its `id:` arithmetic (whatever the id step), and
`simulation-id-mismatch` respells ids that have no dashes.
"""

from __future__ import annotations

from collections.abc import Iterable

from jobcontracts.sims.common import Fault, checked_fault_names

__all__ = ["FAULTS", "LOAD_FAULTS", "Fault", "resolve_faults"]

_FAULT_LIST: tuple[Fault, ...] = (
    Fault(
        "unknown-stakeholder-400",
        "IA-REQ-1",
        "An unknown stakeholder_id gets 400 instead of 404.",
    ),
    Fault(
        "stakeholder-id-wins",
        "IA-REQ-3",
        "With both stakeholder fields, the id is looked up first: an unknown one gets 404.",
    ),
    Fault(
        "started-at-iso-string",
        "IA-STAT-2",
        "While running, the status record's started_at is an ISO 8601 string, not epoch seconds.",
    ),
    Fault(
        "status-id-mismatch",
        "IA-STAT-3",
        "The status record's simulation_id is the id with its last character changed.",
    ),
    Fault(
        "max-messages-unbounded",
        "IA-REQ-1",
        "An integer max_interview_messages above 40 is accepted (202) and a run starts.",
    ),
    Fault(
        "created-200",
        "IA-REQ-2",
        "POST /api/simulations answers 200 instead of 202 (same body).",
    ),
    Fault(
        "details-url-broken",
        "IA-REQ-2",
        "details_url points to /api/simulations/{id}/details, which is a 404.",
    ),
    Fault(
        "completed-at-while-running",
        "IA-STAT-1",
        "While running, completed_at holds the planned completion time instead of null.",
    ),
    Fault(
        "final-answer-while-running",
        "IA-STAT-1",
        "While running, final_answer holds a non-empty draft instead of null.",
    ),
    Fault(
        "event-name-mismatch",
        "IA-SSE-1",
        "simulation.step events are sent as `event: simulation.state` (data.event is right).",
    ),
    Fault(
        "simulation-id-mismatch",
        "IA-SSE-1",
        "agent.update events carry another spelling of the simulation id (without its "
        "dashes; upper-cased if it has none).",
    ),
    Fault(
        "started-twice",
        "IA-SSE-2",
        "A second simulation.started follows hypothesis.batch_created.",
    ),
    Fault(
        "no-terminal-event",
        "IA-SSE-2",
        "The stream ends at the run's end without its terminal event (status is still right).",
    ),
    Fault(
        "event-after-terminal",
        "IA-SSE-2",
        "A cleanup agent.update (same step) follows the terminal event, then the stream ends.",
    ),
    Fault(
        "ids-repeat",
        "IA-SSE-3",
        "The first interview.transcript.updated repeats the id of its interview.message.",
    ),
    Fault(
        "step-regresses",
        "IA-SSE-3",
        "The agent.update opening the second hypothesis reports the batch's step (2).",
    ),
    Fault(
        "unannounced-hypothesis",
        "IA-SSE-3",
        "hypothesis.batch_created leaves out the last hypothesis, which is still interviewed.",
    ),
    Fault(
        "message-index-skips",
        "IA-SSE-4",
        "The first hypothesis's last interview.message skips an index (…, k, k+2).",
    ),
    Fault(
        "message-count-off-by-one",
        "IA-SSE-4",
        "For the first hypothesis, transcript.message_count is one more than sent so far.",
    ),
    Fault(
        "interview-exceeds-max",
        "IA-SSE-4",
        "The first hypothesis's interview has max_interview_messages + 2 messages.",
    ),
    Fault(
        "event-no-timestamp",
        "IA-SSE-7",
        "simulation.step events carry no timestamp in their data.",
    ),
    Fault(
        "connected-status-wrong",
        "IA-SSE-7",
        'sse.connected says payload.status "starting" while the run is running.',
    ),
    Fault(
        "started-echo-wrong",
        "IA-SSE-8",
        "simulation.started echoes the first 20 characters of user_input and an ellipsis.",
    ),
    Fault(
        "batch-count-off",
        "IA-SSE-8",
        "hypothesis.batch_created's count is one more than the hypotheses it lists.",
    ),
    Fault(
        "transcript-lags",
        "IA-SSE-8",
        "Each transcript's messages leave out the latest message (one behind).",
    ),
    Fault(
        "final-answer-differs",
        "IA-SSE-5",
        "simulation.completed carries the synthesis draft, not the final_answer of the status.",
    ),
    Fault(
        "error-message-differs",
        "IA-SSE-5",
        'simulation.error says "Simulation failed." while the status error gives the cause.',
    ),
    Fault(
        "resume-repeats-last",
        "IA-SSE-6",
        "Last-Event-ID: n resumes at event n instead of after it.",
    ),
    Fault(
        "resume-skips-one",
        "IA-SSE-6",
        "Last-Event-ID: n resumes after event n + 1, losing one event.",
    ),
    Fault(
        "catalog-missing-field",
        "IA-CAT-1",
        "The second stakeholder profile has no tech_savviness field.",
    ),
    Fault(
        "catalog-duplicate-id",
        "IA-CAT-1",
        "The catalog ends with a second profile under the first profile's id.",
    ),
    Fault(
        "catalog-id-rejected",
        "IA-CAT-1",
        "The catalog ends with a retired profile whose id POST /api/simulations answers 404.",
    ),
)

#: Every fault the simulator knows, by name.
FAULTS: dict[str, Fault] = {fault.name: fault for fault in _FAULT_LIST}

#: Faults only concurrent traffic shows, served by `jobcontracts load --sim-fault NAME`
#: (`jobcontracts.load.racing`); the simulator itself knows none of them.
LOAD_FAULTS: dict[str, Fault] = {fault.name: fault for fault in (
    Fault("colliding-ids", "LOAD-CREATE-1",
          "Simulations started concurrently share the first one's simulation_id.",
          load_only=True),
    Fault("500-under-load", "LOAD-RATE-1",
          "Past 4 requests in flight, a request gets 500 instead of being served.",
          load_only=True),
    Fault("429-under-load-without-retry-after", "LOAD-RATE-1",
          "Past 4 requests in flight, a request gets 429 with no Retry-After.",
          load_only=True),
    Fault("latency-grows-with-load", "LOAD-LAT-1",
          "Each request waits 250 ms for every other request in flight (at most 6 s).",
          load_only=True),
)}


def resolve_faults(names: Iterable[str] | None) -> frozenset[str]:
    return checked_fault_names(names, FAULTS, "Interrogation Agent")
