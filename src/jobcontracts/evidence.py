"""What the HTML report and JUnit need beyond the ledger's tally.

- `Evidence`: each violation as plain JSON (rule id, message, its exchanges
  as dicts, and a timeline of the polled resource across the trace it was
  found in), scrubbed when it is taken, so that it can cross from an xdist
  worker to the controller (`to_wire`/`merge_wire`) and be written anywhere.
- `TestVerdicts`: the rules one test's traffic judged, each `verified` or
  `violated`, for the test's JUnit properties.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .oracles.judge import RuleOutcome
from .oracles.registry import Violation
from .trace import ABSENT, Exchange, Trace, lookup

#: Violations kept per rule (the ledger keeps as many texts).
PER_RULE = 20
#: Points a timeline keeps (the marked ones always among them).
MAX_POINTS = 400
#: The field a timeline draws as labelled bands, the first one a poll has.
STATE_FIELDS = ("state", "status", "job.status", "stage", "job.stage")
#: Numeric fields a timeline draws as lines, at most.
MAX_LINES = 3


class Evidence:
    def __init__(self) -> None:
        self.violations: dict[str, list[dict[str, Any]]] = {}

    def add(self, outcomes: Mapping[str, RuleOutcome], trace: Trace,
            scrub: Callable[[str], str] = str, *, test: str = "", reproduce: str = "") -> None:
        """Keep each new violation of `outcomes`, found by `test` in `trace`."""
        for rule_id, outcome in outcomes.items():
            for violation in outcome.violations:
                kept = self.violations.setdefault(rule_id, [])
                text = scrub(violation.render())
                if len(kept) < PER_RULE and all(v["text"] != text for v in kept):
                    kept.append(summary(violation, trace, scrub, test=test,
                                        reproduce=reproduce))

    def to_wire(self) -> dict[str, Any]:
        return {"violations": self.violations}

    def merge_wire(self, wire: Mapping[str, Any]) -> None:
        for rule_id, theirs in wire.get("violations", {}).items():
            kept = self.violations.setdefault(rule_id, [])
            for item in theirs:
                if len(kept) < PER_RULE and all(v["text"] != item["text"] for v in kept):
                    kept.append(item)


def summary(violation: Violation, trace: Trace, scrub: Callable[[str], str] = str, *,
            test: str = "", reproduce: str = "") -> dict[str, Any]:
    """A violation as JSON: what the failure message says, and the data to draw it."""
    data = {"rule": violation.rule, "message": violation.why, "text": violation.render(),
            "fields": list(violation.fields), "test": test, "reproduce": reproduce,
            "exchanges": [exchange_dict(ex, violation.fields) for ex in violation.exchanges],
            "timeline": timeline(violation, trace)}
    # Scrubbed as the JSON report is: as text, whatever field a secret hides in.
    scrubbed: dict[str, Any] = json.loads(scrub(json.dumps(data, default=repr)))
    return scrubbed


def exchange_dict(ex: Exchange, fields: Iterable[str] = ()) -> dict[str, Any]:
    body = ex.json
    shown = {}
    for name in fields:
        value = ex.header("retry-after") if name == "Retry-After" else lookup(body, name)
        if value is not ABSENT:
            shown[name] = _plain(value)
    item: dict[str, Any] = {
        # The query with its "?", as in a URL: the scrubber knows `?sig=…` there.
        "seq": ex.seq, "method": ex.method, "path": ex.path,
        "query": f"?{ex.query}" if ex.query else "",
        "status": ex.status, "error": ex.error, "note": ex.note, "origin": ex.origin,
        "credential": ex.credential, "at": ex.started_at, "fields": shown,
        "line": ex.describe(tuple(fields))}
    if ex.content_type == "text/event-stream":
        item["events"] = [{"id": e.id, "event": e.event, "data": e.data[:200]}
                          for e in ex.events[:50]]
    elif isinstance(body, dict | list):
        item["body"] = _clip(json.dumps(body, ensure_ascii=False, default=repr), 600)
    return item


def timeline(violation: Violation, trace: Trace) -> dict[str, Any] | None:
    """The polls of the violation's resource (the path of its first GET with a
    JSON object) across the trace: time, state, numeric fields; the
    violation's own exchanges marked. None when fewer than two polls show it."""
    first = next((ex for ex in violation.exchanges
                  if ex.method == "GET" and isinstance(ex.json, dict)), None)
    if first is None:
        return None
    polls = [ex for ex in trace if ex.method == "GET" and ex.path == first.path
             and 200 <= ex.status < 300 and isinstance(ex.json, dict)]
    if len(polls) < 2:
        return None
    marked = {ex.seq for ex in violation.exchanges}
    flat = [_flatten(ex.json) for ex in polls]
    state = next((name for name in STATE_FIELDS
                  if any(isinstance(f.get(name), str) for f in flat)), None)
    lines = _numeric_fields(flat, violation.fields)
    points = [{"seq": ex.seq, "t": ex.started_at, "status": ex.status,
               "state": f.get(state) if state else None,
               "values": {n: f[n] for n in lines if _is_number(f.get(n))}}
              for ex, f in zip(polls, flat, strict=True)]
    return {"path": first.path, "state_field": state, "fields": lines,
            "highlight": [n for n in lines if n in violation.fields],
            "marked": sorted(marked), "points": _thin(points, marked)}


def _flatten(body: dict[str, Any]) -> dict[str, Any]:
    """Top-level scalars, and those of a nested object (`job.status`)."""
    flat: dict[str, Any] = {}
    for key, value in body.items():
        if isinstance(value, dict):
            for inner, v in value.items():
                if not isinstance(v, dict | list):
                    flat[f"{key}.{inner}"] = v
        elif not isinstance(value, list):
            flat[key] = value
    return flat


def _numeric_fields(flat: list[dict[str, Any]], wanted: Iterable[str]) -> list[str]:
    """The violation's own numeric fields first, then others that change."""
    names: list[str] = []
    for name in [*wanted, *(k for f in flat for k in f)]:
        if name in names or len(names) >= MAX_LINES:
            continue
        values = [f[name] for f in flat if _is_number(f.get(name))]
        if len(values) >= 2 and (name in wanted or len(set(values)) > 1):
            names.append(name)
    return names


def _thin(points: list[dict[str, Any]], marked: set[int]) -> list[dict[str, Any]]:
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / MAX_POINTS
    keep = {round(i * step) for i in range(MAX_POINTS)} | {len(points) - 1}
    return [p for i, p in enumerate(points) if i in keep or p["seq"] in marked]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return value if len(text) <= 200 else _clip(text, 200)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class TestVerdicts:
    """The union of the outcomes one test's traces had, rule by rule."""

    __test__ = False  # not a pytest test class, whatever its name

    reached: dict[str, list[int]] = field(default_factory=dict)
    violated: set[str] = field(default_factory=set)

    def add(self, outcomes: Mapping[str, RuleOutcome]) -> None:
        for rule_id, outcome in outcomes.items():
            mine = self.reached.setdefault(rule_id, [0] * len(outcome.checks_reached))
            if len(mine) == len(outcome.checks_reached):
                self.reached[rule_id] = [a + b for a, b in zip(mine, outcome.checks_reached,
                                                                strict=True)]
            if outcome.violations:
                self.violated.add(rule_id)

    def verdicts(self) -> dict[str, str]:
        """`violated` for a rule this test broke; `verified` for one every check
        of which this test's traffic judged, unbroken. Rules it judged only in
        part, or not at all, are left out."""
        out = {}
        for rule_id in sorted(self.reached):
            if rule_id in self.violated:
                out[rule_id] = "violated"
            elif self.reached[rule_id] and all(self.reached[rule_id]):
                out[rule_id] = "verified"
        return out
