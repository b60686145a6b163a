"""The master's side of a load run: merge what the workers recorded, judge it,
report it.

Every worker sends each scenario's exchanges (`wire.py`) as it ends. The
master merges them all into one order (by the time each was answered, on the
clock every process shares), numbers them once, and judges:

- each scenario's trace (one resource and the clients racing on it) with
  every rule of the API's contract and the per-scenario `LOAD-*` rules;
- the whole run, merged into one trace, with the `whole_run` rules (ids
  created across all workers, every answer under load, latency).

Everything feeds one `Ledger`, so the report has the shape of the suite's
`--contract-report`, plus a `load` block: per endpoint, requests, 429s,
5xx, transport errors and latency p50/p95/p99 in wall milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..contract import Contract
from ..oracles import judge_trace
from ..oracles.context import Context
from ..oracles.judge import _compiled
from ..oracles.load import percentile, races, timed_requests, wall_ms
from ..recordings.scrub import Scrubber
from ..report import Ledger
from ..trace import Exchange, Trace
from .contract import LoadContract
from .wire import from_wire


@dataclass(frozen=True)
class Recorded:
    """One scenario's exchanges, as a worker sent them."""

    group: str
    """Unique across the run: worker, user, iteration."""
    scenario: str
    exchanges: tuple[dict[str, Any], ...]
    cut_short: bool = False
    """Stopped mid-scenario by the run's end: a request it had sent may have
    been served with its answer never read (a racer killed in flight), so
    the trace may lack a winner its other requests' answers depend on."""


@dataclass
class Collector:
    """What the master has received so far."""

    recorded: list[Recorded] = field(default_factory=list)
    workers_done: set[str] = field(default_factory=set)

    def add(self, data: dict[str, Any]) -> None:
        self.recorded.append(Recorded(str(data["group"]), str(data["scenario"]),
                                      tuple(data["exchanges"]),
                                      bool(data.get("cut_short", False))))


@dataclass
class Judged:
    ledger: Ledger
    violations: list[tuple[str, str]]
    """(where: the scenario or `whole run`, the rendered violation)."""
    exchanges: int
    scenarios: int
    stats: dict[str, Any]
    cut_short: int = 0
    """Scenarios the run's end stopped midway (`Recorded.cut_short`)."""

    @property
    def exit_code(self) -> int:
        return 1 if any(t.status == "violated" for t in self.ledger.rules.values()) else 0


def merge(recorded: Iterable[Recorded]) -> tuple[Trace, list[tuple[Recorded, Trace]]]:
    """The whole run as one trace and each scenario's trace, numbered once in
    the order the answers came (a request answered first was served first)."""
    tagged = [(rec, i, data) for rec in recorded for i, data in enumerate(rec.exchanges)]
    tagged.sort(key=lambda t: (float(t[2]["finished_at"]), float(t[2]["started_at"]),
                               t[0].group, t[1]))
    by_group: dict[str, list[Exchange]] = {}
    whole: list[Exchange] = []
    owners: dict[str, Recorded] = {}
    for seq, (rec, _, data) in enumerate(tagged, 1):
        ex = from_wire(data, seq)
        whole.append(ex)
        by_group.setdefault(rec.group, []).append(ex)
        owners[rec.group] = rec
    return Trace(whole), [(owners[g], Trace(xs)) for g, xs in by_group.items()]


#: What a request that lost a race to an identical one is answered.
LOST_RACE = frozenset({404, 409, 422})


def views(load: LoadContract) -> tuple[Contract, Contract]:
    """The per-scenario rules judged on the whole scenario trace (the `LOAD-*`
    ones, and the API's whose every check reads one answer alone), and the
    rest: judged on the trace without the requests that lost a race."""
    contract = load.per_scenario()
    local = {rule.id for rule, checks in _compiled(contract)
             if all(check.local for check in checks)}
    on_all = [r for r in contract.rules if r.id in local or r.id in load.load_rules]
    return (contract.model_copy(update={"rules": on_all}),
            contract.model_copy(update={"rules": [r for r in contract.rules
                                                  if r not in on_all]}))


def serialized(trace: Trace) -> Trace:
    """The trace as one client would have made it: without each request that
    raced an identical one (method, URL, key, body), or came after one that
    won, and was refused because the other won (`LOST_RACE`). The API's rules
    that compare answers assume one client; these refusals are the `LOAD-*`
    rules' to judge."""
    same: dict[tuple[str, str, str, bytes], list[Exchange]] = {}
    for ex in trace:
        if ex.method != "GET" and ex.origin == "api":
            ident = (ex.method, ex.url, ex.request_header("idempotency-key") or "",
                     bytes(ex.request_body))
            same.setdefault(ident, []).append(ex)
    lost: set[int] = set()
    for (_, _, key, _), group in same.items():
        raced = {ex.seq for race in races(group) for ex in race}
        for ex in group:
            if ex.status in LOST_RACE and (ex.seq in raced or (not key and _won_before(ex, group))):
                lost.add(ex.seq)
    return Trace([ex for ex in trace if ex.seq not in lost]) if lost else trace


def _won_before(ex: Exchange, group: list[Exchange]) -> bool:
    """Did an identical request by another client win before `ex` was answered?
    Its client's own reads may predate the win, but the state it wrote to is
    gone. Only for unkeyed requests: a keyed retry after a win must replay,
    SS-IDEM-2's to judge."""
    return any(200 <= other.status < 300 and other.started_at < ex.finished_at
               for other in group if other is not ex)


def judge(load: LoadContract, recorded: Iterable[Recorded], *, clock_speed: float = 1.0,
          wall_seconds: float = 0.0) -> Judged:
    ledger = Ledger()
    ledger.register(load.contract)
    p95 = load.settings.get("p95_ms")
    ledger.reachable("LOAD-LAT-1", "--p95-ms", None if p95 is None else int(p95))
    whole, groups = merge(recorded)
    violations: list[tuple[str, str]] = []
    on_all, on_serial = views(load)
    for rec, trace in groups:
        # A scenario cut short is judged by the rules that read each answer
        # alone: the ones comparing answers would miss what it never read.
        outcomes = judge_trace(on_all, trace)
        if not rec.cut_short:
            outcomes |= judge_trace(on_serial, serialized(trace))
        ledger.record(outcomes)
        violations += [(f"scenario {rec.scenario} ({rec.group})", v.render())
                       for o in outcomes.values() for v in o.violations]
    if len(whole):
        outcomes = judge_trace(load.whole(), whole)
        ledger.record(outcomes)
        violations += [("whole run", v.render()) for o in outcomes.values()
                       for v in o.violations]
    stats = endpoint_stats(load, whole, clock_speed, wall_seconds)
    return Judged(ledger, violations, len(whole), len(groups), stats,
                  sum(rec.cut_short for rec, _ in groups))


def endpoint_stats(load: LoadContract, whole: Trace, clock_speed: float,
                   wall_seconds: float) -> dict[str, Any]:
    """Per endpoint: requests, 429s, 5xx, transport errors, latency percentiles."""
    ctx = Context(load.contract, whole)
    timed = timed_requests(ctx)
    endpoints: dict[str, Any] = {}
    for name in load.contract.endpoints:
        sent = [ex for ex, _ in ctx.requests(name)]
        if not sent:
            continue
        entry: dict[str, Any] = {
            "requests": len(sent), "429": sum(ex.status == 429 for ex in sent),
            "5xx": sum(ex.status >= 500 for ex in sent),
            "errors": sum(ex.status == 0 for ex in sent)}
        times = [wall_ms(ex, clock_speed) for ex in timed.get(name, [])]
        if times:
            entry.update({f"p{q}_ms": round(percentile(times, q), 1) for q in (50, 95, 99)})
        endpoints[name] = entry
    api = [ex for ex in whole if ex.origin == "api"]
    return {"requests": len(api), "429": sum(ex.status == 429 for ex in api),
            "5xx": sum(ex.status >= 500 for ex in api),
            "errors": sum(ex.status == 0 for ex in api),
            "requests_per_second": round(len(api) / wall_seconds, 1) if wall_seconds else None,
            "endpoints": endpoints}


def first_per_rule(violations: list[tuple[str, str]], count: int) -> list[tuple[str, str]]:
    """The first `count` violations of each rule, in the order found."""
    seen: dict[str, int] = {}
    kept = []
    for where, text in violations:
        rule = text.split(" ", 1)[0]
        seen[rule] = seen.get(rule, 0) + 1
        if seen[rule] <= count:
            kept.append((where, text))
    return kept


def write_report(judged: Judged, path: Path, run: dict[str, Any], scrub: Scrubber) -> None:
    report = judged.ledger.report()
    report["load"] = {**run, "exchanges": judged.exchanges, "scenarios": judged.scenarios,
                      "cut_short": judged.cut_short, **judged.stats}
    report["violations"] = [{"where": where, "text": text} for where, text in
                            first_per_rule(judged.violations, 20)]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    path.write_text(scrub.text(text) + "\n", encoding="utf-8")


def print_summary(judged: Judged, out: TextIO, api: str, scrub: Scrubber,
                  shown: int = 10) -> None:
    """Each violated rule's first violations (the bug report), the endpoints'
    figures, the rules' tally."""
    by_rule: dict[str, list[tuple[str, str]]] = {}
    for where, text in judged.violations:
        by_rule.setdefault(text.split(" ", 1)[0], []).append((where, text))
    for rule_id, found in by_rule.items():
        out.write(f"FAIL {rule_id}: {len(found)} violation(s)\n")
        for where, text in found[:shown]:
            out.write(scrub.text(f"  in {where}:\n    {text.replace(chr(10), chr(10) + '    ')}")
                      + "\n")
    stats = judged.stats
    cut = (f" ({judged.cut_short} cut short by the run's end: judged answer by answer)"
           if judged.cut_short else "")
    out.write(f"jobcontracts load ({api}): {judged.scenarios} scenario trace(s){cut}, "
              f"{stats['requests']} requests ({stats['requests_per_second']}/s), "
              f"{stats['429']} x 429, {stats['5xx']} x 5xx, {stats['errors']} transport errors\n")
    for name, entry in stats["endpoints"].items():
        times = " ".join(f"p{q}={entry[f'p{q}_ms']}ms" for q in (50, 95, 99)
                         if f"p{q}_ms" in entry)
        out.write(f"  {name}: {entry['requests']} requests, {entry['429']} x 429, "
                  f"{entry['5xx']} x 5xx {times}\n")
    out.write(judged.ledger.summary() + "\n")
    for rule_id, tally in judged.ledger.rules.items():
        if rule_id.startswith("LOAD-") or tally.status == "violated":
            out.write(f"  {tally.status:<11} {rule_id}: {tally.detail()}\n")
