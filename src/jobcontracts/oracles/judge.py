"""Judge a whole trace against every rule of a contract.

A rule is *reached* in a trace when every one of its checks found something
to judge (a check that covers a set also says which members it judged:
the ledger calls a rule verified only once every member was); it is
*violated* when any check found a violation. Whatever raised
inside an oracle is itself reported, as a violation of that rule, so that a
surprising server can never turn into an engine traceback.

`judge_exchange` is the same judgement asked about one exchange, after every
fuzzed case: the violations that cite it. Judging the whole trace again after
each case costs O(n) per case (O(n²) a test), most of it re-validating old
answers against a schema, so each check is judged on the smallest trace that
gives the same answer about that exchange: a *local* check (one whose every
finding is about one exchange read on its own: a schema, a status, a field of
one answer) on that exchange alone, any other on the whole trace; a check
whose findings can only cite requests to one endpoint is skipped for the
others. Which checks are local is decided once per contract (`LOCAL_KINDS`).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

from ..contract import Contract, Rule
from ..trace import Exchange, Trace
from .context import Context
from .registry import REGISTRY, Kind, Parts, Verdict, Violation

#: Rule kinds each of whose findings judges one exchange (one answer, or the
#: record one answer shows) on its own, reading nothing else of the trace:
#: judged on a trace holding only that exchange, they find exactly the
#: violations that cite it in the whole trace. A kind that compares answers
#: (polls of one resource, a request and what came before it) is not one.
#: A kind left out is judged on the whole trace: slower, never wrong.
LOCAL_KINDS = frozenset({
    # one answer: transport, schema
    "openapi_response", "no_server_error", "json_content", "error_body", "retry_after",
    # one observation of a record (`ctx.observations`, each judged alone)
    "required_keys", "enum", "field_type", "present_iff", "value_when", "fields_equal",
    "field_compare", "list_items", "sequence", "list_count", "list_order", "fields_ordered",
})
#: `status_for`'s `when` clauses that read the request alone; one with any
#: other clause (`known`, `after`, `around`, …) looks at the rest of the trace.
LOCAL_WHEN = frozenset({"credential", "status", "path_prefix", "header_invalid",
                        "header_valid", "body", "body_keys", "otherwise_valid"})
#: Kinds whose findings cite only requests to the endpoint in their `request`
#: param (`*`: any).
CITES_REQUEST = frozenset({"status_for"})


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


@dataclass(frozen=True)
class Check:
    """One check of a rule, compiled: its kind, its params, and how
    `judge_exchange` may narrow it."""

    kind: Kind[Any]
    params: Any
    local: bool
    """Judged on the one exchange alone (see `LOCAL_KINDS`)."""
    cites: str
    """The endpoint whose requests its findings cite (`*`: any)."""


Compiled = tuple[tuple[Rule, tuple[Check, ...]], ...]
_COMPILED: dict[int, tuple[Contract, Compiled]] = {}


def _compiled(contract: Contract) -> Compiled:
    cached = _COMPILED.get(id(contract))
    if cached is not None and cached[0] is contract:
        return cached[1]
    compiled = []
    for rule in contract.rules:
        checks = []
        for c in rule.checks:
            kind = REGISTRY[c.kind]
            params = kind.params.model_validate(c.raw_params)
            cites = str(getattr(params, "request", "*")) if c.kind in CITES_REQUEST else "*"
            checks.append(Check(kind, params, _is_local(c.kind, params),
                                cites if cites in contract.endpoints else "*"))
        compiled.append((rule, tuple(checks)))
    _COMPILED[id(contract)] = (contract, tuple(compiled))
    return _COMPILED[id(contract)][1]


def _is_local(kind: str, params: Any) -> bool:
    if kind == "status_for":
        given: set[str] = params.when.model_fields_set
        return given <= LOCAL_WHEN
    return kind in LOCAL_KINDS


def _judge(rule: Rule, check: Check, trace: Trace, ctx: Context) -> Verdict:
    verdict = Verdict(rule.id)
    try:
        check.kind.fn(trace, check.params, ctx, verdict)
    except Exception as exc:  # an oracle must not crash the run: report it
        where = traceback.extract_tb(exc.__traceback__)[-1]
        verdict.violations.append(Violation(
            rule.id, f"could not be judged: {check.kind.name} raised "
            f"{type(exc).__name__}: {exc} ({where.filename}:{where.lineno})", ()))
    return verdict


def judge_trace(contract: Contract, trace: Trace) -> dict[str, RuleOutcome]:
    ctx = Context(contract, trace)
    outcomes: dict[str, RuleOutcome] = {}
    for rule, checks in _compiled(contract):
        outcome = RuleOutcome(rule)
        for check in checks:
            verdict = _judge(rule, check, trace, ctx)
            outcome.checks_reached.append(verdict.reached)
            outcome.checks_parts.append(verdict.parts)
            outcome.violations.extend(verdict.violations)
        outcomes[rule.id] = outcome
    return outcomes


def judge_exchange(contract: Contract, trace: Trace, exchange: Exchange) -> list[Violation]:
    """Every rule's violations in `trace` that cite `exchange` (one of its
    exchanges), in rule order: what `judge_trace` finds about it, without
    judging the rest of the trace again where no check needs it."""
    alone = Trace([exchange])
    ctx_alone, ctx_whole = Context(contract, alone), Context(contract, trace)
    found: list[Violation] = []
    for rule, checks in _compiled(contract):
        for check in checks:
            if check.cites != "*" and not ctx_alone.requests(check.cites):
                continue
            verdict = (_judge(rule, check, alone, ctx_alone) if check.local
                       else _judge(rule, check, trace, ctx_whole))
            found += [v for v in verdict.violations
                      if any(ex.seq == exchange.seq for ex in v.exchanges)]
    return found
