"""The pending slots a `slots` goal asks for, and how a fill value is judged.

CONTRACT-DEFAULTS asks a `slots` goal for at least one required slot with
`options` and one free-text required slot. The reference set is exactly
that: `output_format` (string options mixed with a `{"value", "label"}`
option) and `recipient` (free text); a variant adds an optional `notes` slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobcontracts.sims.jobs.choices import JobsChoices


@dataclass(frozen=True)
class Slot:
    """One `PendingSlot`."""

    slot_id: str
    slot_type: str
    question: str
    options: tuple[str | dict[str, str], ...] | None
    required: bool = True
    is_disambiguation: bool = False
    suggested_value: object | None = None
    suggested_confidence: float | None = None

    def option_values(self) -> list[str] | None:
        if self.options is None:
            return None
        return [o if isinstance(o, str) else o["value"] for o in self.options]

    def view(self) -> dict[str, Any]:
        return {
            "slot_id": self.slot_id,
            "slot_type": self.slot_type,
            "question": self.question,
            "options": None if self.options is None else [
                o if isinstance(o, str) else dict(o) for o in self.options],
            "required": self.required,
            "is_disambiguation": self.is_disambiguation,
            "suggested_value": self.suggested_value,
            "suggested_confidence": self.suggested_confidence,
        }


def slots_for(choices: JobsChoices) -> list[Slot]:
    slots = [
        Slot("output_format", "choice", "Which format should the report be delivered in?",
             ("pdf", {"value": "xlsx", "label": "Excel workbook"}, "csv"),
             suggested_value="pdf", suggested_confidence=0.72),
        Slot("recipient", "text", "Who should receive the finished report?", None),
    ]
    if choices.optional_slot:
        slots.append(Slot("notes", "text", "Anything else the agent should know?", None,
                          required=False))
    return slots


def value_problem(slot: Slot, value: Any, choices: JobsChoices,
                  outside_ok: bool = False) -> tuple[int, str] | None:
    """Why `value` cannot fill `slot` (status, message), or None (JOB-SLOT-2)."""
    if slot.required and (value is None or value == ""):
        return 422, f"slot {slot.slot_id!r} is required: null and \"\" are refused"
    allowed = slot.option_values()
    if allowed is not None:
        if not outside_ok and not (isinstance(value, str) and value in allowed):
            return 422, f"slot {slot.slot_id!r} takes one of {', '.join(allowed)}"
        return None
    if value is not None and not isinstance(value, str) and choices.non_string_text:
        return choices.non_string_text, f"slot {slot.slot_id!r} takes text"
    return None
