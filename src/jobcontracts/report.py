"""The run's ledger of rules: verified, partial, violated or not reached, and why.

Every judged trace adds to the ledger. A rule is `verified` only when every
one of its checks judged something, every member of each set a check covers
(`Verdict.covers`: the review profiles, the catalog's ids, the endpoints)
was judged, and nothing was violated. Some of it exercised and some not is
`partial` (not a failure: the detail says what was and was not reached, and
the option that reaches the rest); none of it is `not_reached`, never
`verified` by default.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .contract import Contract
from .oracles.judge import RuleOutcome

STATUSES = ("verified", "partial", "violated", "not_reached")


@dataclass
class Covered:
    """What one check covering a set saw over the whole run."""

    label: str
    members: set[str] = field(default_factory=set)
    judged: set[str] = field(default_factory=set)

    @property
    def untried(self) -> list[str]:
        return sorted(self.members - self.judged)


@dataclass
class RuleTally:
    source: str
    description: str
    checks: list[str]
    reached: list[int] = field(default_factory=list)
    covered: dict[int, Covered] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    option: str = ""
    """The live-run option that reaches this rule (`reached_with`), if any."""
    option_value: int | None = None

    def add(self, outcome: RuleOutcome) -> None:
        if not self.reached:
            self.reached = [0] * len(outcome.checks_reached)
        self.reached = [a + b for a, b in zip(self.reached, outcome.checks_reached, strict=True)]
        for i, parts in enumerate(outcome.checks_parts):
            if parts is not None:
                self._cover(i, parts.label, parts.members, parts.judged)
        for v in outcome.violations:
            text = v.render()
            if text not in self.violations and len(self.violations) < 20:
                self.violations.append(text)

    def _cover(self, index: int, label: str, members: Any, judged: Any) -> None:
        covered = self.covered.setdefault(index, Covered(label))
        covered.members.update(members)
        covered.members.update(judged)
        covered.judged.update(judged)

    def merge(self, other: dict[str, Any]) -> None:
        theirs = other["reached"]
        if not self.reached:
            self.reached = [0] * len(theirs)
        if theirs:
            self.reached = [a + b for a, b in zip(self.reached, theirs, strict=True)]
        for index, data in other.get("covered", {}).items():
            self._cover(int(index), data["label"], data["members"], data["judged"])
        for text in other["violations"]:
            if text not in self.violations:
                self.violations.append(text)

    def wire(self) -> dict[str, Any]:
        return {"reached": self.reached, "violations": self.violations,
                "covered": {str(i): {"label": c.label, "members": sorted(c.members),
                                     "judged": sorted(c.judged)}
                            for i, c in self.covered.items()},
                "option": self.option, "option_value": self.option_value}

    def _state(self, index: int) -> str:
        """`full`, `some` (judged, but not every member of its set) or `none`."""
        if not self.reached or self.reached[index] == 0:
            return "none"
        covered = self.covered.get(index)
        return "some" if covered is not None and covered.untried else "full"

    @property
    def status(self) -> str:
        if self.violations:
            return "violated"
        states = {self._state(i) for i in range(len(self.checks))}
        if states <= {"full"} and self.reached:
            return "verified"
        return "not_reached" if states == {"none"} or not self.reached else "partial"

    def _name(self, index: int) -> str:
        kind = self.checks[index]
        return kind if len(self.checks) == 1 else f"{kind} (check {index + 1})"

    def detail(self) -> str:
        status = self.status
        if status == "violated":
            return self.violations[0].splitlines()[0]
        if status == "verified":
            return f"judged {sum(self.reached)} time(s)"
        if status == "not_reached":
            missing = [c for i, c in enumerate(self.checks) if self._state(i) == "none"]
            return f"no traffic exercised: {', '.join(missing)}{self._hint('')}"
        parts, untried = [], 0
        for i in range(len(self.checks)):
            state, covered = self._state(i), self.covered.get(i)
            if state == "some" and covered is not None:
                untried += len(covered.untried)
                tried = len(covered.members) - len(covered.untried)
                parts.append(f"{self._name(i)} verified for {tried} of {len(covered.members)} "
                             f"{covered.label}; untried: {', '.join(covered.untried)}")
            elif state == "none":
                parts.append(f"not reached: {self._name(i)}")
        reached = [self._name(i) for i in range(len(self.checks)) if self._state(i) == "full"]
        if reached:
            parts.append(f"reached: {', '.join(reached)}")
        return "; ".join(parts) + self._hint("the rest", untried)

    def _hint(self, what: str, untried: int = 0) -> str:
        if not self.option:
            return ""
        if not self.option_value:
            return f"; a live run reaches {what or 'it'} only with {self.option} > 0"
        if untried:
            return (f"; raise {self.option} to at least {self.option_value + untried} "
                    "to try them all")
        return f"; {self.option} {self.option_value} did not reach {what or 'it'}; " \
               "a larger value may"

    def entry(self, rule_id: str) -> dict[str, Any]:
        checks = []
        for i, kind in enumerate(self.checks):
            check: dict[str, Any] = {"kind": kind,
                                     "judged": self.reached[i] if self.reached else 0}
            if i in self.covered:
                covered = self.covered[i]
                check.update(covers=covered.label, tried=sorted(covered.judged),
                             untried=covered.untried)
            checks.append(check)
        return {"id": rule_id, "status": self.status, "source": self.source,
                "detail": self.detail(), "checks": checks}


class Ledger:
    def __init__(self) -> None:
        self.rules: dict[str, RuleTally] = {}
        self.apis: dict[str, Contract] = {}
        self.used = False
        self._options: dict[str, tuple[str, int | None]] = {}

    def register(self, contract: Contract) -> None:
        if contract.api in self.apis:
            return
        self.apis[contract.api] = contract
        for rule in contract.rules:
            self.rules[rule.id] = RuleTally(rule.source, rule.description,
                                            [c.kind for c in rule.checks])
            if rule.id in self._options:
                self.reachable(rule.id, *self._options[rule.id])

    def record(self, outcomes: dict[str, RuleOutcome]) -> None:
        self.used = True
        for rule_id, outcome in outcomes.items():
            self.rules[rule_id].add(outcome)

    def reachable(self, rule_id: str, option: str, value: int | None) -> None:
        """A live run reaches `rule_id` through `option`, set to `value` this run
        (kept for a contract registered later)."""
        self._options[rule_id] = (option, value)
        if rule_id in self.rules:
            self.rules[rule_id].option, self.rules[rule_id].option_value = option, value

    def to_wire(self) -> dict[str, Any]:
        return {k: t.wire() for k, t in self.rules.items()}

    def merge_wire(self, wire: dict[str, Any]) -> None:
        for rule_id, data in wire.items():
            if rule_id in self.rules:
                tally = self.rules[rule_id]
                tally.merge(data)
                if data.get("option") and not tally.option:
                    tally.option, tally.option_value = data["option"], data.get("option_value")

    def report(self) -> dict[str, Any]:
        notes = [f"{c.api}: {note}" for c in self.apis.values() for note in c.notes]
        return {"rules": [t.entry(rule_id) for rule_id, t in self.rules.items()],
                **({"notes": notes} if notes else {})}

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for tally in self.rules.values():
            counts[tally.status] += 1
        return counts

    def summary(self) -> str:
        """`rules: 30 verified, 2 partial, 0 violated, 1 not reached`."""
        counts = self.counts()
        return (f"rules: {counts['verified']} verified, {counts['partial']} partial, "
                f"{counts['violated']} violated, {counts['not_reached']} not reached")

    def write(self, path: Path, scrub: Callable[[str], str] = str) -> None:
        """Write the report as JSON; `scrub` takes secrets out of its text first."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.report(), indent=2, ensure_ascii=False)
        path.write_text(scrub(text) + "\n", encoding="utf-8")
