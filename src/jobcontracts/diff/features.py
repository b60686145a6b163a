"""A recording summed up as features: what a client could come to depend on.

Every feature is generic over field paths (`error.code`, `clarifications[].question`,
`event:simulation.progress.percent`), so a change of the same nature as a
named drift is caught without a line written for it. Each is kept per
*scope*, the aligned request (test, example, request shape; see `load.py`),
so that the baseline's two runs can be compared request by request, as
Diffy does:

- `status`: the statuses the request got;
- `requests`: the request shapes an example sent (scope: the example);
- `type`: the JSON types a field took; `key`: whether objects had a key;
  `vocab`: the values of a string field (judged where they are enum-like);
- `header`: whether answers carried a header; `vocab` of `header content-type`;
  `retry-after`: its magnitude in seconds;
- `events`: a stream's event-type sequence (repeats folded); `vocab` of its types;
- `count`: the lengths of a (non-empty) array, a stream's events of one type;
- `text-length`: the lengths of a free-text field;
- `latency-median`, `latency-p95`: per endpoint, over every scope.

Each value keeps one exchange that shows it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from ..trace import NOT_JSON, event_data, event_name
from .load import Observed, json_type

#: Kinds whose per-scope value is a multiset of elements.
CATEGORICAL = ("status", "requests", "type", "key", "vocab", "header", "events")
#: Kinds whose per-scope value is a list of magnitudes, compared as a ratio.
RATIO = ("retry-after", "text-length")
#: Kinds whose per-scope value is a list of counts.
COUNT = ("count",)
#: Endpoint-wide kinds (no scope).
LATENCY = ("latency-median", "latency-p95")
#: Kinds whose elements are `present` / `absent` of a parent's objects.
PRESENCE = ("key", "header")
#: Answer headers that say nothing about the API's behaviour.
IGNORED_HEADERS = frozenset({"date", "server", "content-length", "transfer-encoding",
                             "connection", "keep-alive", "vary", "via", "age"})
#: The parent of `header` features: every answer of an endpoint and status.
ANSWER = "(answer)"
#: Fewer samples than this make no latency figure.
MIN_LATENCY_SAMPLES = 5


@dataclass(frozen=True, order=True)
class Key:
    kind: str
    endpoint: str
    """`GET /v1/me 200` for what an answer holds, `GET /v1/me` for latency."""
    field: str

    @property
    def parent(self) -> tuple[str, str]:
        """The object path whose objects a presence feature counts."""
        if self.kind == "header":
            return (self.endpoint, ANSWER)
        return (self.endpoint, self.field.rpartition(".")[0] if "." in self.field else "")


@dataclass
class Feature:
    """One feature in one scope: its elements (counted) or its samples."""

    counts: Counter[str] = field(default_factory=Counter)
    samples: list[float] = field(default_factory=list)
    examples: dict[str, Observed] = field(default_factory=dict)
    """One observation showing each element (`""` for samples)."""

    def add(self, element: str, obs: Observed, n: int = 1) -> None:
        self.counts[element] += n
        self.examples.setdefault(element, obs)

    def sample(self, value: float, obs: Observed) -> None:
        self.samples.append(value)
        self.examples.setdefault("", obs)

    @property
    def elements(self) -> frozenset[str]:
        return frozenset(e for e, n in self.counts.items() if n > 0)

    def example(self, elements: Iterable[str] = ()) -> Observed | None:
        for element in elements:
            if element in self.examples:
                return self.examples[element]
        return next(iter(self.examples.values()), None)


@dataclass
class Summary:
    """The features of one recording, by key and scope."""

    features: dict[Key, dict[str, Feature]]
    parents: dict[tuple[str, str], dict[str, int]]
    """(endpoint, object path) → scope → how many such objects the scope saw."""
    exchanges: int

    def get(self, key: Key, scope: str) -> Feature | None:
        found = self.features.get(key, {}).get(scope)
        if key.kind not in PRESENCE:
            return found
        total = self.parents.get(key.parent, {}).get(scope, 0)
        if not total:
            return None
        feature = Feature()
        present = 0 if found is None else found.counts["present"]
        if present:
            assert found is not None
            feature.add("present", found.examples["present"], present)
        if total > present:
            feature.counts["absent"] = total - present
        return feature


class _Collector:
    """Features by plain tuple keys while collecting (a `Key` is built once per key)."""

    def __init__(self) -> None:
        self.features: dict[tuple[str, str, str], dict[str, Feature]] = defaultdict(dict)
        self.parents: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def feature(self, kind: str, where: str, path: str, scope: str) -> Feature:
        scopes = self.features[(kind, where, path)]
        found = scopes.get(scope)
        if found is None:
            found = scopes[scope] = Feature()
        return found

    def walk(self, value: Any, where: str, path: str, obs: Observed) -> None:
        """Every field path of a JSON value: types, key presence, strings, lengths."""
        scope = obs.request
        self.feature("type", where, path or "(body)", scope).add(json_type(value), obs)
        if isinstance(value, dict):
            self.parents[(where, path)][scope] += 1
            for name, item in value.items():
                child = f"{path}.{name}" if path else str(name)
                self.feature("key", where, child, scope).add("present", obs)
                self.walk(item, where, child, obs)
        elif isinstance(value, list):
            if value:
                self.feature("count", where, f"len({path or '(body)'})", scope).sample(
                    len(value), obs)
            for item in value:
                self.walk(item, where, f"{path}[]", obs)
        elif isinstance(value, str):
            self.feature("vocab", where, path, scope).add(value, obs)
            self.feature("text-length", where, path, scope).sample(len(value), obs)


def summarise(observed: Iterable[Observed]) -> Summary:
    c = _Collector()
    count = 0
    for obs in observed:
        count += 1
        ex = obs.exchange
        c.feature("requests", "", "request shapes", f"{obs.test} #{obs.example}").add(
            obs.shape, obs)
        c.feature("status", obs.endpoint, "status", obs.request).add(
            str(ex.status) if ex.status else "no answer", obs)
        if ex.origin != "api" or not ex.status:
            continue
        where = f"{obs.endpoint} {ex.status}"
        c.parents[(where, ANSWER)][obs.request] += 1
        _headers(c, where, obs)
        if ex.content_type == "text/event-stream":
            _stream(c, where, obs, [(event_name(e), event_data(e)) for e in ex.events])
        elif ex.websocket and ex.status == 101:
            _stream(c, where, obs, [(_ws_type(m), m) for m in ex.ws_json])
        else:
            if ex.json is not NOT_JSON:
                c.walk(ex.json, where, "", obs)
            c.feature("latency", obs.endpoint, "latency", "").sample(
                max(0.0, ex.finished_at - ex.started_at), obs)
    return Summary({Key(*k): v for k, v in c.features.items()},
                   {k: dict(v) for k, v in c.parents.items()}, count)


def _headers(c: _Collector, where: str, obs: Observed) -> None:
    ex = obs.exchange
    for name in {n.lower() for n in ex.response_headers}:
        if name not in IGNORED_HEADERS:
            c.feature("header", where, name, obs.request).add("present", obs)
    content_type = ex.header("content-type")
    if content_type is not None:
        c.feature("vocab", where, "header content-type", obs.request).add(
            content_type.strip().lower(), obs)
    seconds = retry_after_seconds(ex.header("retry-after"), ex.header("date"))
    if seconds is not None:
        c.feature("retry-after", where, "header retry-after", obs.request).sample(
            seconds, obs)


def retry_after_seconds(value: str | None, date: str | None) -> float | None:
    """Delay-seconds as is; an HTTP-date as the delay from the answer's `Date`."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text).timestamp()
        sent = parsedate_to_datetime(date).timestamp() if date else None
    except (TypeError, ValueError, IndexError):
        return None
    return None if sent is None else max(0.0, when - sent)


def _ws_type(message: Any) -> str:
    kind = message.get("type") if isinstance(message, dict) else None
    return kind if isinstance(kind, str) else "<untyped>"


def _stream(c: _Collector, where: str, obs: Observed, events: list[tuple[str, Any]]) -> None:
    """A stream's event-type sequence (repeats folded), vocabulary, counts, payloads."""
    folded: list[str] = []
    for name, _ in events:
        if folded and folded[-1].removesuffix("+") == name:
            folded[-1] = name + "+"
        else:
            folded.append(name)
    scope = obs.request
    c.feature("events", where, "event sequence", scope).add(
        " → ".join(folded) or "(none)", obs)
    per_type: Counter[str] = Counter()
    for name, data in events:
        per_type[name] += 1
        c.feature("vocab", where, "event type", scope).add(name, obs)
        if data is not NOT_JSON:
            c.walk(data, where, f"event:{name}", obs)
    for name, n in per_type.items():
        c.feature("count", where, f"events {name} per stream", scope).sample(n, obs)
