"""A simulator's free choices: one lawful server among the many the documents allow.

Wherever the API documents and CONTRACT-DEFAULTS leave a choice open (which
check comes first, whether an input nobody rules on is accepted or refused
and with which `4xx`, `Retry-After` values within the limits, timing and
jitter, intermediate states a poll may skip, error texts), a simulator asks
its `Variant` instead of hard-coding one answer. A suite that leans on one
choice (an oracle that expects `409` where `400` is just as lawful) then
fails against some variant in the selftests, before it fails a team's server.

Variant 0 is the reference behaviour (every choice its first option). Any
other number draws each choice on its own, from the variant number and the
choice's name, so adding a choice never reshuffles the others, and a choice
is the same every time it is asked.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

#: Statuses a server may use to refuse an input the documents do not rule on.
LAWFUL_REFUSALS = (400, 422)


@dataclass(frozen=True)
class Variant:
    """The free choices of one simulated server, drawn from `number`."""

    number: int = 0
    chosen: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Every choice asked so far, by name (for `jobcontracts serve --variant N`)."""

    def _rng(self, name: str) -> random.Random:
        return random.Random(f"jobcontracts-variant:{self.number}:{name}")

    def pick(self, name: str, options: Sequence[T]) -> T:
        """One of `options`: the first for variant 0, else drawn by name."""
        if not options:
            raise ValueError(f"variant choice {name!r} has no options")
        value = options[0] if self.number == 0 else self._rng(name).choice(list(options))
        self.chosen.setdefault(name, value)
        return value

    def chance(self, name: str, default: bool) -> bool:
        """A yes/no choice: `default` for variant 0, else a coin toss by name."""
        return self.pick(name, (default, not default))

    def uniform(self, name: str, default: float, low: float, high: float) -> float:
        """A number in [low, high]: `default` for variant 0."""
        if not low <= high:
            raise ValueError(f"variant choice {name!r}: low {low} > high {high}")
        value = default if self.number == 0 else self._rng(name).uniform(low, high)
        self.chosen.setdefault(name, value)
        return value

    def refusal(self, name: str, accepted_by_default: bool = True) -> int | None:
        """Is an input no rule covers accepted (`None`) or refused (400 or 422)?"""
        default: int | None = None if accepted_by_default else LAWFUL_REFUSALS[0]
        options: list[int | None] = [default, *(s for s in (None, *LAWFUL_REFUSALS)
                                                if s != default)]
        return self.pick(name, options)

    def message(self, text: str) -> str:
        """An error message as this server words it (no client may depend on it)."""
        style = self.pick("message_style", ("plain", "sentence", "prefixed", "terse"))
        if style == "sentence":
            return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
        if style == "prefixed":
            return f"Request refused: {text}"
        if style == "terse":
            return text.split(";")[0].strip() or text
        return text

    def describe(self) -> str:
        if not self.chosen:
            return f"variant {self.number}"
        shown = ", ".join(f"{k}={_short(v)}" for k, v in sorted(self.chosen.items()))
        return f"variant {self.number}: {shown}"


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else repr(value)


def as_variant(value: Variant | int | None) -> Variant:
    """A `Variant` from a number (or `None`, the reference behaviour)."""
    if isinstance(value, Variant):
        return value
    if value is None:
        return Variant()
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"a variant is a whole number >= 0, not {value!r}")
    return Variant(value)
