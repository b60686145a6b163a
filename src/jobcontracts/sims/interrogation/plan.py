"""The plan of a simulation run: every event it will send, and when.

A run is a timeline: events at offsets (simulated seconds) from its creation.
The status record at time `now` and the event stream are both read off that
timeline, so they agree by construction (IA-SSE-5), and nothing runs in the
background: the clock alone moves a run along.

The shape of a run, as the document's LangGraph-style agent would produce it:

    simulation.started
    analysis (step 1) → hypothesis generation (step 2, hypothesis.batch_created)
    per hypothesis: validation start, then the interview — each message is an
        interview.message, an interview.transcript.updated, an agent.update
        and a simulation.step, one graph step per message — then a verdict
    synthesis (two steps) → simulation.completed

Every state update also goes out as a `simulation.step`. A run of the
reference variant has 2-3 hypotheses of 2-10 messages each (never more than
max_interview_messages) and takes 35-70 s of simulated time at
max_interview_messages 2, 1-2.5 minutes at 8 or more; a failing run about as
long. Other variants (`choices`) plan 1-4 hypotheses of 2-16 messages, at
0.5-1.6 times the pace, with or without an `agent.update` per message.

Runs fail deterministically: a `user_input` holding the word `FAIL`
(upper case, as a whole word) makes the run fail during its last hypothesis's
interview, after at least one message, with a `simulation.error` 30 s (the
variant's `failure_timeout`) after the last message (a model timeout). No
other run fails.
"""

from __future__ import annotations

import random
import re
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from jobcontracts.sims.interrogation import content
from jobcontracts.sims.interrogation.catalog import Stakeholder
from jobcontracts.sims.interrogation.choices import Choices
from jobcontracts.sims.variant import Variant

#: A user_input matching this makes the run fail.
FAIL_TRIGGER = re.compile(r"\bFAIL\b")
FAILURE_TIMEOUT = 30.0
TERMINAL_EVENTS = ("simulation.completed", "simulation.error")


@dataclass(frozen=True)
class SimulationRequest:
    """A validated `POST /api/simulations` body."""

    user_input: str
    max_messages: int
    stakeholder: Stakeholder | None = None
    stakeholder_profile: str | None = None

    @property
    def voices(self) -> tuple[str, ...]:
        if self.stakeholder_profile is not None or self.stakeholder is None:
            return (content.voice_of(self.stakeholder_profile or ""),)
        return self.stakeholder.voice


@dataclass
class _Hypothesis:
    id: str
    theme: content.Theme
    planned: int
    validated: bool
    status: str = "pending"
    root_cause: str = ""
    evidence_count: int = 0
    messages: list[dict[str, str]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.theme.title,
            "status": self.status,
            "root_cause": self.root_cause,
            "evidence_count": self.evidence_count,
            "interview_message_count": len(self.messages),
        }


@dataclass
class Event:
    offset: float
    name: str
    payload: dict[str, Any]
    repeat_id: bool = False


class Planner:
    """Builds a run's events in order; `faults` bend it where a fault says so."""

    def __init__(self, request: SimulationRequest, rng: random.Random, faults: Set[str],
                 choices: Choices | None = None) -> None:
        self.request = request
        self.rng = rng
        self.faults = faults
        self.choices = choices or Choices.of(Variant())
        self.offset = 0.0
        self.step = 0
        self.events: list[Event] = []
        self.hypotheses: list[_Hypothesis] = []
        self.current_question = ""
        self.hypothesis_offset = 0
        self.final_answer: str | None = None
        self.error: str | None = None

    def emit(self, delay: float, name: str, payload: dict[str, Any], **flags: bool) -> None:
        self.offset += delay * self.choices.pace
        self.events.append(Event(round(self.offset, 3), name, payload, **flags))

    def state(self, final_answer: str = "") -> dict[str, Any]:
        return {
            "hypothesis_offset": self.hypothesis_offset,
            "current_question": self.current_question,
            "final_answer": final_answer,
            "hypotheses": [hypothesis.record() for hypothesis in self.hypotheses],
        }

    def snapshot(self, delay: float = 0.05, final_answer: str = "") -> None:
        self.emit(delay, "simulation.step", {"step": self.step, "state": self.state(final_answer)})

    def update(
        self,
        delay: float,
        stage: str,
        action: str,
        summary: str,
        details: dict[str, Any],
        hypothesis: _Hypothesis | None = None,
        step: int | None = None,
    ) -> None:
        payload: dict[str, Any] = {
            "step": self.step if step is None else step,
            "stage": stage,
            "action": action,
            "summary": summary,
        }
        if hypothesis is not None:
            payload["hypothesis_id"] = hypothesis.id
            payload["hypothesis_title"] = hypothesis.theme.title
        payload["details"] = details
        self.emit(delay, "agent.update", payload)

    # ------------------------------------------------------------------ the run

    def plan(self) -> None:
        request, rng = self.request, self.rng
        self.emit(
            0.05,
            "simulation.started",
            {
                "max_interview_messages": request.max_messages,
                "user_input": request.user_input[:20] + "…"
                if "started-echo-wrong" in self.faults else request.user_input,
            },
        )
        self.analysis()
        count = rng.choice(self.choices.hypotheses)
        if "step-regresses" in self.faults:  # the fault needs a second hypothesis
            count = max(count, 2)
        longest = max(2, request.max_messages - request.max_messages % 2)
        for index, theme in enumerate(content.pick_themes(rng, count)):
            planned = min(longest, 2 * rng.randint(*self.choices.pairs))
            if index == 0 and "interview-exceeds-max" in self.faults:
                planned = longest + 2
            validated = rng.random() < 0.65
            self.hypotheses.append(_Hypothesis(f"h-{index + 1}", theme, planned, validated))
        self.generation()
        fail_after = None
        if FAIL_TRIGGER.search(request.user_input):
            fail_after = rng.randint(1, self.hypotheses[-1].planned - 1)
        for index, hypothesis in enumerate(self.hypotheses):
            last = index == len(self.hypotheses) - 1
            if not self.interview(index, hypothesis, fail_after if last else None):
                self.fail(hypothesis)
                return
        self.synthesis()

    def analysis(self) -> None:
        self.step = 1
        who = self.request.stakeholder
        self.update(
            self.rng.uniform(0.3, 0.8),
            "analysis",
            "analysis_started",
            "Analyzing the problem statement and the stakeholder profile.",
            {
                "stakeholder": "ad-hoc profile"
                if who is None or self.request.stakeholder_profile is not None
                else who.title,
                "max_interview_messages": self.request.max_messages,
            },
        )
        self.snapshot()

    def generation(self) -> None:
        self.step = 2
        announced = self.hypotheses
        if "unannounced-hypothesis" in self.faults:
            announced = announced[:-1]
        self.update(
            self.rng.uniform(3.0, 7.0),
            "hypothesis_generation",
            "hypotheses_generated",
            f"Generated {len(announced)} hypotheses to validate with the stakeholder.",
            {"count": len(announced)},
        )
        batch = [
            {
                "hypothesis_id": hypothesis.id,
                "hypothesis_title": hypothesis.theme.title,
                "hypothesis_description": hypothesis.theme.description,
            }
            for hypothesis in announced
        ]
        self.emit(
            0.02,
            "hypothesis.batch_created",
            {
                "step": self.step,
                "count": len(batch) + ("batch-count-off" in self.faults),
                "hypotheses": batch,
            },
        )
        self.snapshot()
        if "started-twice" in self.faults:
            self.emit(
                0.02,
                "simulation.started",
                {
                    "max_interview_messages": self.request.max_messages,
                    "user_input": self.request.user_input,
                },
            )

    def interview(self, index: int, hypothesis: _Hypothesis, fail_after: int | None) -> bool:
        """Plan one hypothesis's interview; False if the run fails during it."""
        rng = self.rng
        self.step += 1
        self.hypothesis_offset = index
        hypothesis.status = "in_progress"
        self.current_question = ""
        regress = index == 1 and "step-regresses" in self.faults
        self.update(
            rng.uniform(0.5, 1.5),
            "validation",
            "hypothesis_started",
            f"Validating {hypothesis.id}: {hypothesis.theme.title}.",
            {"hypothesis_offset": index, "planned_messages": hypothesis.planned},
            hypothesis,
            step=2 if regress else None,
        )
        self.snapshot()
        voice_pool = self.request.voices
        for number in range(hypothesis.planned):
            turn, asking = number // 2, number % 2 == 0
            if asking:
                role, delay = "assistant", rng.uniform(2.0, 4.5)
                text = content.question(hypothesis.theme, turn)
                self.current_question = text
            else:
                role, delay = "user", rng.uniform(3.0, 7.0)
                text = content.answer(hypothesis.theme, turn, voice_pool[turn % len(voice_pool)])
            self.message(index, hypothesis, number, role, text, delay)
            if fail_after is not None and number + 1 == fail_after:
                return False
        hypothesis.status = "validated" if hypothesis.validated else "rejected"
        answers = sum(message["role"] == "user" for message in hypothesis.messages)
        hypothesis.evidence_count = answers if hypothesis.validated else answers // 2
        hypothesis.root_cause = hypothesis.theme.root_cause if hypothesis.validated else ""
        self.step += 1
        self.current_question = ""
        self.update(
            rng.uniform(2.0, 4.0),
            "validation",
            f"hypothesis_{hypothesis.status}",
            f"{hypothesis.id} {hypothesis.status} after {len(hypothesis.messages)} messages.",
            {"root_cause": hypothesis.root_cause, "evidence_count": hypothesis.evidence_count},
            hypothesis,
        )
        self.snapshot()
        return True

    def message(
        self, index: int, hypothesis: _Hypothesis, number: int, role: str, text: str, delay: float
    ) -> None:
        self.step += 1
        first = index == 0
        message_index = number + self.choices.message_index_base
        if first and number == hypothesis.planned - 1 and "message-index-skips" in self.faults:
            message_index = number + 1
        hypothesis.messages.append({"role": role, "content": text})
        self.emit(
            delay,
            "interview.message",
            {
                "step": self.step,
                "hypothesis_id": hypothesis.id,
                "message_index": message_index,
                "role": role,
                "content": text,
                "status": hypothesis.status,
            },
        )
        count = len(hypothesis.messages)
        if first and "message-count-off-by-one" in self.faults:
            count += 1
        self.emit(
            0.05,
            "interview.transcript.updated",
            {
                "step": self.step,
                "hypothesis_id": hypothesis.id,
                "hypothesis_title": hypothesis.theme.title,
                "status": hypothesis.status,
                "latest_message_index": message_index,
                "latest_message_role": role,
                "latest_message_content": text,
                "transcript": {
                    "message_count": count,
                    "text": "\n".join(f"{m['role']}: {m['content']}" for m in hypothesis.messages),
                    "messages": [dict(message) for message in (
                        hypothesis.messages[:-1] if "transcript-lags" in self.faults
                        else hypothesis.messages)],
                },
            },
            repeat_id=first and number == 0 and "ids-repeat" in self.faults,
        )
        asked = role == "assistant"
        if self.choices.update_per_message:
            self.update(
                0.02,
                "interview",
                "question_asked" if asked else "response_captured",
                f"Asked the stakeholder about {hypothesis.id}."
                if asked
                else f"Captured stakeholder response for {hypothesis.id}.",
                {"message_index": message_index, "content": text},
                hypothesis,
            )
        self.snapshot(0.02)

    def synthesis(self) -> None:
        rng, request = self.rng, self.request
        draft = content.draft_answer(request.user_input)
        self.step += 1
        self.hypothesis_offset = len(self.hypotheses) - 1
        self.update(
            rng.uniform(1.0, 2.0),
            "synthesis",
            "synthesis_started",
            "Synthesizing the interview findings across hypotheses.",
            {"validated": [h.id for h in self.hypotheses if h.validated]},
        )
        self.snapshot(final_answer=draft)
        final = content.final_answer(
            request.user_input,
            [h.theme for h in self.hypotheses if h.validated],
            [h.theme for h in self.hypotheses if not h.validated],
        )
        self.step += 1
        self.update(
            rng.uniform(4.0, 9.0),
            "synthesis",
            "final_answer_ready",
            "Final answer ready.",
            {"answer_length": len(final)},
        )
        self.snapshot(final_answer=final)
        self.final_answer = final
        sent = draft if "final-answer-differs" in self.faults else final
        self.emit(
            0.1,
            "simulation.completed",
            {
                "step": self.step,
                "status": "completed",
                "final_answer": sent,
                "state": self.state(sent),
            },
        )
        self.after_terminal()

    def fail(self, hypothesis: _Hypothesis) -> None:
        self.error = content.failure_message(self.rng, hypothesis.id)
        sent = "Simulation failed." if "error-message-differs" in self.faults else self.error
        self.emit(self.choices.failure_timeout, "simulation.error", {"message": sent})
        self.after_terminal()

    def after_terminal(self) -> None:
        if "event-after-terminal" in self.faults:
            self.update(1.0, "cleanup", "resources_released", "Released the run's resources.", {})
