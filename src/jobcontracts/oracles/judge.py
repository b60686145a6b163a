"""Judge a whole trace against every rule of a contract.

A rule is *reached* in a trace when every one of its checks found something
to judge (a check that covers a set also says which members it judged:
the ledger calls a rule verified only once every member was); it is
*violated* when any check found a violation. Whatever raised
inside an oracle is itself reported, as a violation of that rule, so that a
surprising server can never turn into an engine traceback.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

from ..contract import Contract, Rule
from ..trace import Trace
from .context import Context
from .registry import REGISTRY, Kind, Parts, Verdict, Violation


@dataclass
class RuleOutcome:
    rule: Rule
    checks_reached: list[int] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    checks_parts: list[Parts | None] = field(default_factory=list)
    """Per check, the members of the set it covers (None: it covers no set)."""

    @property
    def reached(self) -> bool:
        return all(n > 0 for n in self.checks_reached)

    def unreached_checks(self) -> list[str]:
        return [f"{self.rule.checks[i].kind} (check {i + 1})"
                for i, n in enumerate(self.checks_reached) if n == 0]


Compiled = tuple[tuple[Rule, tuple[tuple[Kind[Any], Any], ...]], ...]
_COMPILED: dict[int, tuple[Contract, Compiled]] = {}


def _compiled(contract: Contract) -> Compiled:
    if id(contract) in _COMPILED:
        return _COMPILED[id(contract)][1]
    compiled = []
    for rule in contract.rules:
        checks = tuple((REGISTRY[c.kind], REGISTRY[c.kind].params.model_validate(c.raw_params))
                       for c in rule.checks)
        compiled.append((rule, checks))
    _COMPILED[id(contract)] = (contract, tuple(compiled))
    return _COMPILED[id(contract)][1]


def judge_trace(contract: Contract, trace: Trace) -> dict[str, RuleOutcome]:
    ctx = Context(contract, trace)
    outcomes: dict[str, RuleOutcome] = {}
    for rule, checks in _compiled(contract):
        outcome = RuleOutcome(rule)
        for kind, params in checks:
            verdict = Verdict(rule.id)
            try:
                kind.fn(trace, params, ctx, verdict)
            except Exception as exc:  # an oracle must not crash the run: report it
                where = traceback.extract_tb(exc.__traceback__)[-1]
                verdict.violations.append(Violation(
                    rule.id, f"could not be judged: {kind.name} raised "
                    f"{type(exc).__name__}: {exc} ({where.filename}:{where.lineno})", ()))
            outcome.checks_reached.append(verdict.reached)
            outcome.checks_parts.append(verdict.parts)
            outcome.violations.extend(verdict.violations)
        outcomes[rule.id] = outcome
    return outcomes
