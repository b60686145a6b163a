"""Goal jobs (goal lane, human in the loop): a timeline and its event log.

A goal job is planned as timed steps; `advance(t)` applies every step due by
`t`, and each step appends its events to the job's append-only log (the
`GoalEvent`s its WebSocket sends). A human action (fill, confirm, cancel)
happens at the caller's now, after the job was advanced to it, so neither a
status nor an `emitted_at` ever goes back. Its life, in simulated seconds
(times the variant's `time_scale`):

- `draft` (a variant starts at `created`), `created` 0.3 s later,
  `analyzing` 0.5 s after that, for 1.5-3 s (an agent step with one tool
  call and agent text; progress 5, then 15);
- then `slots_pending`, or `ready` / `ready_with_preview`, waiting for a
  human; once every required slot is filled the job is `analyzing` again
  (at once, or one dispatcher tick later while an optional slot is still
  shown), for 1-1.5 s (progress 20), then `ready` / `ready_with_preview`;
- `confirm`: `confirmed` at once, `queued` 0.5 s later, `executing` 0.5-1 s
  after that, four agent steps of 0.8-1.4 s (progress 30, 50, 70, 90),
  then `completed` or `partial` at progress 100, or `failed` after the
  second step.

Test-mode words in `goal_text` (case ignored; CONTRACT-DEFAULTS "Reaching
every branch"): `slots` pauses for slots, `preview` makes it
`ready_with_preview`, `fail` fails while executing, `partial` ends `partial`
(`fail` wins over `partial`).

Events: a `status` event for every status the job takes but the terminal
ones, which are announced by the terminal event alone (`completed` with
`data.status` `completed` or `partial`, or `failed`); a cancelled job's last
event is the `status` event saying `cancelled` (JOB-EVT-2).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from jobcontracts.sims.jobs.choices import REFERENCE, JobsChoices
from jobcontracts.sims.jobs.slots import Slot, slots_for

NON_TERMINAL = ("draft", "created", "analyzing", "slots_pending", "ready",
                "ready_with_preview", "confirmed", "queued", "executing")
TERMINAL = frozenset({"completed", "partial", "failed", "cancelled"})
STATUSES = (*NON_TERMINAL, "completed", "partial", "failed", "cancelled")
READY = frozenset({"ready", "ready_with_preview"})
EVENT_TYPES = ("tool_started", "tool_finished", "agent_step_started", "agent_step_finished",
               "orchestration_transition", "status", "progress", "completed", "failed",
               "slot_needed", "keepalive", "agent_text", "agent_text_done")
EXECUTION_PROGRESS = (30, 50, 70, 90)
TOOLS = ("web_search", "pdf_extract", "summarize", "llm_call")


#: An event a step emits: its type and data.
Emitted = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Fate:
    slots: bool = False
    preview: bool = False
    fails: bool = False
    partial: bool = False


def fate_of(goal_text: str | None) -> Fate:
    text = (goal_text or "").lower()
    fails = "fail" in text
    return Fate("slots" in text, "preview" in text, fails, "partial" in text and not fails)


@dataclass(frozen=True)
class GoalEvent:
    seq: int
    type: str
    at: float
    data: dict[str, Any]


@dataclass
class Step:
    """A planned change: attributes to set, then events to emit (type, data)."""

    at: float
    changes: dict[str, Any] = field(default_factory=dict)
    events: list[Emitted] = field(default_factory=list)


class Goal:
    """One goal job; `advance(t)` moves it to time `t`."""

    def __init__(self, *, job_spec_id: str, owner: str, goal_text: str | None,
                 file_ids: list[str], workflow_id: str | None, created_at: float,
                 rng: random.Random, faults: Set[str] = frozenset(),
                 choices: JobsChoices = REFERENCE) -> None:
        self.job_spec_id = job_spec_id
        self.owner = owner
        self.goal_text = goal_text
        self.file_ids = list(file_ids)
        self.workflow_id = workflow_id
        self.choices = choices
        self.faults = faults
        self.fate = fate_of(goal_text)
        self.status = choices.initial_goal_status
        self.progress = 0
        self.item_version = 1
        self.attempt_id: str | None = None
        self.slots: list[Slot] = slots_for(choices) if self.fate.slots else []
        self.pending: list[Slot] = []
        self.filled: dict[str, Any] = {}
        self.agent_message: str | None = None
        self.error_message: str | None = None
        self.error_code: str | None = None
        self.created_at = self.updated_at = created_at
        self.started_at: float | None = None
        self.completed_at: float | None = None
        self.events: list[GoalEvent] = []
        self._rng = rng
        self._steps: deque[Step] = deque()
        self._calls = 0
        self._emit("status", {"status": self.status, "previous": None}, created_at)
        self._plan_intake(created_at)

    # ------------------------------------------------------------------ time

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def advance(self, now: float) -> None:
        while self._steps and self._steps[0].at <= now:
            self._apply(self._steps.popleft())

    def next_due(self) -> float | None:
        return self._steps[0].at if self._steps else None

    def keepalive(self, now: float) -> None:
        """A `keepalive` event, for a stream that has been quiet (none after the end)."""
        if not self.terminal and (not self.events or self.events[-1].at < now):
            self._emit("keepalive", {}, now)

    def _apply(self, step: Step) -> None:
        previous = self.status
        for name, value in step.changes.items():
            setattr(self, name, value)
        if step.changes:
            self.item_version += 1
            self.updated_at = max(self.updated_at, step.at)
        if self.status != previous and self.status not in TERMINAL:
            self._emit("status", {"status": self.status, "previous": previous}, step.at)
            if self.choices.transition_events == "every" and not any(
                    kind == "orchestration_transition" for kind, _ in step.events):
                self._emit("orchestration_transition", {"from": previous, "to": self.status},
                           step.at)
        for kind, data in step.events:
            self._emit(kind, data, step.at)
        if self.status == "cancelled" and previous != "cancelled":
            self._emit("status", {"status": "cancelled", "previous": previous}, step.at)
        if self.terminal and "event-after-terminal" in self.faults and previous not in TERMINAL:
            self._emit("keepalive", {}, step.at)

    def _emit(self, kind: str, data: dict[str, Any], at: float) -> None:
        seq = self.events[-1].seq + 1 if self.events else 1
        if len(self.events) == 2 and "event-seq-repeats" in self.faults:
            seq -= 1
        self.events.append(GoalEvent(seq, kind, at, data))

    def _span(self, low: float, high: float) -> float:
        return self.choices.span(self._rng.uniform(low, high))

    def _call_id(self, prefix: str) -> str:
        self._calls += 1
        return f"{prefix}_{self._calls}"

    # ------------------------------------------------------------------ human actions

    def fill(self, slot: Slot, value: Any, now: float) -> None:
        """Fill a pending slot (the caller checked state, slot and value)."""
        self.pending = [s for s in self.pending if s.slot_id != slot.slot_id]
        self.filled[slot.slot_id] = value
        self._touch(now)
        if any(s.required for s in self.pending):
            return
        self._steps.clear()
        if self.pending:  # only optional slots are left: resume at the next tick
            self._plan_analysis(now + self.choices.dispatcher_tick, again=True)
        else:
            self._plan_analysis(now, again=True)
            self.advance(now)

    def record_stray_fill(self, slot_id: str, value: Any, now: float) -> None:
        """Keep a value sent while not paused (only the `fill-after-pause` fault)."""
        self.filled[slot_id] = value
        self._touch(now)

    def confirm(self, now: float) -> None:
        self._steps.clear()
        self._steps.append(Step(now, {"status": "confirmed", "pending": [],
                                      "attempt_id": f"att_{self._rng.getrandbits(48):012x}"}))
        self._plan_execution(now)
        self.advance(now)

    def cancel(self, now: float) -> None:
        self._steps.clear()
        self._steps.append(Step(now, {"status": "cancelled", "pending": [], "completed_at": now,
                                      "agent_message": "Cancelled on request."}))
        self.advance(now)

    def bump(self, now: float) -> None:
        """A change with no other effect (only the `refused-fill-changes` fault)."""
        self._touch(now)

    def _touch(self, now: float) -> None:
        self.item_version += 1
        self.updated_at = max(self.updated_at, now)

    # ------------------------------------------------------------------ planning

    def _plan_intake(self, t: float) -> None:
        if self.status == "draft":
            t += self._span(0.3, 0.3)
            self._steps.append(Step(t, {"status": "created"}))
        t += self._span(0.5, 0.5)
        self._plan_analysis(t, again=False)

    def _plan_analysis(self, t: float, *, again: bool) -> None:
        step_id = self._call_id("step")
        steps = [Step(t, {"status": "analyzing", "pending": [],
                          "agent_message": "Working out a plan for the goal."},
                      [("agent_step_started", {"call_id": step_id, "step": "analyze"})])]
        if again:
            span = self._span(1.0, 1.5)
            steps.append(Step(t, {"progress": 20}, [("progress", {"progress": 20})]))
        else:
            span = self._span(1.5, 3.0)
            call_id = self._call_id("call")
            text = "Reading the goal and the attached files."
            steps += [
                Step(t, {"progress": 5}, [("progress", {"progress": 5}),
                                          ("agent_text", {"delta": text})]),
                Step(t + 0.3 * span, events=[("tool_started", {"call_id": call_id,
                                                               "tool": "web_search"})]),
                Step(t + 0.6 * span, {"progress": 15}, [
                    ("tool_finished", {"call_id": call_id, "tool": "web_search", "ok": True}),
                    ("agent_text_done", {"text": text}),
                    ("progress", {"progress": 15})]),
            ]
        t += span
        steps.append(Step(t, events=[("agent_step_finished", {"call_id": step_id,
                                                               "step": "analyze", "ok": True})]))
        if self.fate.slots and not again:
            pending = list(self.slots)
            steps.append(Step(t, {"status": "slots_pending", "pending": pending,
                                  "agent_message": "I need a few details before I can plan."},
                              [("slot_needed", self._slot_data(s)) for s in pending]))
        else:
            status = "ready_with_preview" if self.fate.preview else "ready"
            steps.append(Step(t, {"status": status,
                                  "agent_message": "The plan is ready: confirm to run it."}))
        self._steps.extend(steps)

    @staticmethod
    def _slot_data(slot: Slot) -> dict[str, Any]:
        view = slot.view()
        return {key: view[key] for key in ("slot_id", "slot_type", "question", "options",
                                           "required")}

    def _plan_execution(self, t: float) -> None:
        t += self._span(0.5, 0.5)
        self._steps.append(Step(t, {"status": "queued"}, [(
            "orchestration_transition", {"from": "confirmed", "to": "queued"})]))
        t += self._span(0.5, 1.0)
        self._steps.append(Step(t, {"status": "executing", "started_at": t}, [(
            "orchestration_transition", {"from": "queued", "to": "executing"})]))
        text = "Collecting the sources and drafting the report."
        for unit, progress in enumerate(EXECUTION_PROGRESS, start=1):
            span = self._span(0.8, 1.4)
            step_id, call_id = self._call_id("step"), self._call_id("call")
            tool = TOOLS[(unit - 1) % len(TOOLS)]
            name = f"execute-{unit}"
            started: list[Emitted] = [
                ("agent_step_started", {"call_id": step_id, "step": name}),
                ("tool_started", {"call_id": call_id, "tool": tool})]
            if unit == 2:
                started.append(("agent_text", {"delta": text}))
            self._steps.append(Step(t, events=started))
            t += span
            finished: list[Emitted] = [
                ("tool_finished", {"call_id": call_id, "tool": tool, "ok": True}),
                ("progress", {"progress": progress})]
            if unit == 2:
                finished.append(("agent_text_done", {"text": text}))
            finished.append(("agent_step_finished", {"call_id": step_id, "step": name,
                                                     "ok": True}))
            self._steps.append(Step(t, {"progress": progress}, finished))
            if unit == 2 and self.fate.fails:
                self._plan_failure(t + self._span(0.2, 0.4))
                return
        t += self._span(0.3, 0.6)
        self._plan_success(t)

    def _plan_failure(self, t: float) -> None:
        code, message = "tool_failed", "a tool call failed while executing the plan"
        self._steps.append(Step(t, {"status": "failed", "completed_at": t, "error_code": code,
                                    "error_message": message, "agent_message": message},
                                [("failed", {"status": "failed", "error_code": code,
                                             "error_message": message})]))

    def _plan_success(self, t: float) -> None:
        status = "partial" if self.fate.partial else "completed"
        said = "completed" if "terminal-disagrees" in self.faults else status
        message = ("Done, but one of the four outputs could not be produced."
                   if self.fate.partial else "Done: every output was produced.")
        self._steps.append(Step(t, {"status": status, "progress": 100, "completed_at": t,
                                    "agent_message": message},
                                [("progress", {"progress": 100}),
                                 ("completed", {"status": said, "progress": 100})]))
