"""A created simulation run: its SSE frames and its status at any time.

The status record at time `now` and the event stream are both read off the
run's planned timeline (see `plan`), so they agree by construction (IA-SSE-5).
"""

from __future__ import annotations

import json
import random
from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from jobcontracts.clock import iso
from jobcontracts.sims.interrogation import content
from jobcontracts.sims.interrogation.choices import Choices
from jobcontracts.sims.interrogation.plan import TERMINAL_EVENTS, Event, Planner, SimulationRequest
from jobcontracts.sims.variant import Variant

#: Slack when comparing a clock reading with a due time (sums of float sleeps).
EPSILON = 1e-6


def is_due(now: float, due: float) -> bool:
    """The one test of "has this moment come", shared by the stream and the status."""
    return now >= due - EPSILON


@dataclass(frozen=True)
class Frame:
    """One SSE event of a run: when it is due, its `id:`, its wire bytes."""

    offset: float
    id: int
    raw: bytes


class Simulation:
    """A created run: its plan, its frames, and its status at any time."""

    def __init__(
        self,
        simulation_id: str,
        created: float,
        request: SimulationRequest,
        rng: random.Random,
        faults: Set[str],
        choices: Choices | None = None,
    ) -> None:
        self.id = simulation_id
        self.created = created
        self.request = request
        self.faults = faults
        self.choices = choices or Choices.of(Variant())
        planner = Planner(request, rng, faults, self.choices)
        planner.plan()
        terminal = next(e for e in reversed(planner.events) if e.name in TERMINAL_EVENTS)
        self.outcome = "completed" if terminal.name == "simulation.completed" else "failed"
        self.ends = terminal.offset
        self.final_answer = planner.final_answer
        self.error = planner.error
        self.draft = content.draft_answer(request.user_input)
        events = planner.events
        if "no-terminal-event" in faults:
            events = [event for event in events if event is not terminal]
        self.frames = tuple(self._frames(events))
        #: When the stream ends: at the terminal event, or after a straggler.
        self.stream_ends = max([self.ends, *(frame.offset for frame in self.frames)])

    def _frames(self, events: list[Event]) -> list[Frame]:
        """Strictly increasing `id:`s from `id_start` by `id_step` (`ids-repeat`:
        an event repeats the id of the one before it)."""
        frames: list[Frame] = []
        next_id = self.choices.id_start
        for event in events:
            event_id = frames[-1].id if event.repeat_id and frames else next_id
            next_id = event_id + self.choices.id_step
            frames.append(Frame(event.offset, event_id, self._render(event, event_id)))
        return frames

    def _render(self, event: Event, event_id: int) -> bytes:
        name = event.name
        simulation_id = self.id
        if name == "simulation.step" and "event-name-mismatch" in self.faults:
            name = "simulation.state"
        if event.name == "agent.update" and "simulation-id-mismatch" in self.faults:
            simulation_id = mangled(self.id)
        data = {
            "event": event.name,
            "timestamp": round(self.created + event.offset, 6),
            "simulation_id": simulation_id,
            "payload": event.payload,
        }
        if event.name == "simulation.step" and "event-no-timestamp" in self.faults:
            del data["timestamp"]
        return sse_frame(name, data, event_id, self.choices)

    def status_name(self, now: float) -> str:
        return self.outcome if is_due(now, self.created + self.ends) else "running"

    def status(self, now: float) -> dict[str, Any]:
        """The record of `GET /api/simulations/{id}` at `now`."""
        status = self.status_name(now)
        running = status == "running"
        completed_at = None if running else round(self.created + self.ends, 6)
        if running and "completed-at-while-running" in self.faults:
            completed_at = round(self.created + self.ends, 6)
        final_answer = self.final_answer if status == "completed" else None
        if running and "final-answer-while-running" in self.faults:
            final_answer = self.draft
        record: dict[str, Any] = {
            "simulation_id": self.id,
            "status": status,
            "started_at": round(self.created, 6),
            "completed_at": completed_at,
            "error": self.error if status == "failed" else None,
            "final_answer": final_answer,
        }
        if "status-id-mismatch" in self.faults:
            record["simulation_id"] = self.id[:-1] + ("0" if self.id[-1] != "0" else "1")
        if running and "started-at-iso-string" in self.faults:
            record["started_at"] = iso(self.created)
        if self.choices.extra_fields_in_answers:
            record["max_interview_messages"] = self.request.max_messages
            record["user_input"] = self.request.user_input
        return record

    def connected(self, now: float) -> bytes:
        """The `sse.connected` frame: no `id:`, so it never moves a client's
        Last-Event-ID (it is per connection, not part of the run)."""
        data = {
            "event": "sse.connected",
            "timestamp": round(now, 6),
            "simulation_id": self.id,
            "payload": {"status": "starting" if "connected-status-wrong" in self.faults
                        else self.status_name(now)},
        }
        head = ""
        if self.choices.retry != "none":
            eol = self.choices.line_ending
            head = f"retry: 3000{eol}" + (eol if self.choices.retry == "own_block" else "")
        return head.encode("ascii") + sse_frame("sse.connected", data, None, self.choices)

    def frames_after(self, last_event_id: int | None) -> list[Frame]:
        """The frames a connection sends: all of them, or those after `last_event_id`."""
        if last_event_id is None:
            return list(self.frames)
        start = next((i for i, frame in enumerate(self.frames) if frame.id > last_event_id),
                     len(self.frames))
        if "resume-repeats-last" in self.faults:
            start = max(0, start - 1)
        elif "resume-skips-one" in self.faults:
            start += 1
        return list(self.frames[start:])


def mangled(simulation_id: str) -> str:
    """Another spelling of the same id (`simulation-id-mismatch`): without its
    dashes, or upper-cased, or with a character more."""
    if "-" in simulation_id:
        return simulation_id.replace("-", "")
    upper = simulation_id.upper()
    return upper if upper != simulation_id else simulation_id + "0"


def sse_frame(name: str, data: dict[str, Any], event_id: int | None,
              choices: Choices | None = None) -> bytes:
    """One SSE event on the wire, as the variant writes it (by default: `id:`,
    `event:`, then `data:` as one line of ASCII JSON, `\\n` line endings)."""
    c = choices or _REFERENCE
    sep = ": " if c.field_space else ":"
    if c.data_layout == "pretty":
        text = json.dumps(data, ensure_ascii=c.ascii_json, indent=1)
    else:
        text = json.dumps(data, ensure_ascii=c.ascii_json)
    fields = {
        "id": [] if event_id is None else [f"id{sep}{event_id}"],
        "event": [f"event{sep}{name}"],
        "data": [f"data{sep}{line}" for line in text.split("\n")],
    }
    order = {"id_event_data": ("id", "event", "data"), "event_id_data": ("event", "id", "data"),
             "event_data_id": ("event", "data", "id")}[c.field_order]
    lines = [line for key in order for line in fields[key]]
    eol = c.line_ending
    return (eol.join(lines) + eol + eol).encode("utf-8")


_REFERENCE = Choices.of(Variant())
