"""The run's ledger of rules: verified, violated or not reached, and why.

Every judged trace adds to the ledger. A rule is `verified` only when every
one of its checks judged something and nothing was violated; a rule no
traffic exercised is `not_reached`, never `verified` by default.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .contract import Contract
from .oracles.judge import RuleOutcome


@dataclass
class RuleTally:
    source: str
    description: str
    checks: list[str]
    reached: list[int] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    not_reached_hint: str = ""

    def add(self, outcome: RuleOutcome) -> None:
        if not self.reached:
            self.reached = [0] * len(outcome.checks_reached)
        self.reached = [a + b for a, b in zip(self.reached, outcome.checks_reached, strict=True)]
        for v in outcome.violations:
            text = v.render()
            if text not in self.violations and len(self.violations) < 20:
                self.violations.append(text)

    def merge(self, other: dict[str, Any]) -> None:
        theirs = other["reached"]
        if not self.reached:
            self.reached = [0] * len(theirs)
        if theirs:
            self.reached = [a + b for a, b in zip(self.reached, theirs, strict=True)]
        for text in other["violations"]:
            if text not in self.violations:
                self.violations.append(text)

    @property
    def status(self) -> str:
        if self.violations:
            return "violated"
        if self.reached and all(self.reached):
            return "verified"
        return "not_reached"

    def detail(self) -> str:
        if self.violations:
            return self.violations[0].splitlines()[0]
        if self.status == "verified":
            return f"judged {sum(self.reached)} time(s)"
        missing = [c for c, n in zip(self.checks, self.reached or [0] * len(self.checks),
                                     strict=True) if n == 0]
        hint = f"; {self.not_reached_hint}" if self.not_reached_hint else ""
        return f"no traffic exercised: {', '.join(missing)}{hint}"


class Ledger:
    def __init__(self) -> None:
        self.rules: dict[str, RuleTally] = {}
        self.apis: dict[str, Contract] = {}
        self.used = False

    def register(self, contract: Contract) -> None:
        if contract.api in self.apis:
            return
        self.apis[contract.api] = contract
        for rule in contract.rules:
            self.rules[rule.id] = RuleTally(rule.source, rule.description,
                                            [c.kind for c in rule.checks])

    def record(self, outcomes: dict[str, RuleOutcome]) -> None:
        self.used = True
        for rule_id, outcome in outcomes.items():
            self.rules[rule_id].add(outcome)

    def hint(self, rule_id: str, text: str) -> None:
        if rule_id in self.rules:
            self.rules[rule_id].not_reached_hint = text

    def to_wire(self) -> dict[str, Any]:
        return {k: {"reached": t.reached, "violations": t.violations,
                    "hint": t.not_reached_hint} for k, t in self.rules.items()}

    def merge_wire(self, wire: dict[str, Any]) -> None:
        for rule_id, data in wire.items():
            if rule_id in self.rules:
                self.rules[rule_id].merge(data)
                if data.get("hint") and not self.rules[rule_id].not_reached_hint:
                    self.rules[rule_id].not_reached_hint = data["hint"]

    def report(self) -> dict[str, Any]:
        return {"rules": [{"id": rule_id, "status": t.status, "source": t.source,
                           "detail": t.detail()} for rule_id, t in self.rules.items()]}

    def counts(self) -> dict[str, int]:
        counts = {"verified": 0, "violated": 0, "not_reached": 0}
        for tally in self.rules.values():
            counts[tally.status] += 1
        return counts

    def write(self, path: Path, scrub: Callable[[str], str] = str) -> None:
        """Write the report as JSON; `scrub` takes secrets out of its text first."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.report(), indent=2, ensure_ascii=False)
        path.write_text(scrub(text) + "\n", encoding="utf-8")
