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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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


class Feature:
    """One feature in one scope: its elements (counted) or its samples. A plain
    slotted class: a summary makes one per field path and scope, tens of
    thousands a recording."""

    __slots__ = ("counts", "examples", "samples")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.samples: list[float] = []
        self.examples: dict[str, Observed] = {}
        """One observation showing each element (`""` for samples)."""

    def add(self, element: str, obs: Observed, n: int = 1) -> None:
        counts = self.counts
        counts[element] = counts.get(element, 0) + n
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
        return self.in_scopes(key)(scope)

    def in_scopes(self, key: Key) -> Callable[[str], Feature | None]:
        """`get(key, scope)` for one key, looked up once for all its scopes. A
        presence feature is made from its parent's count (`absent`: the parent's
        objects that had no such key)."""
        found = self.features.get(key, {})
        if key.kind not in PRESENCE:
            return found.get
        totals = self.parents.get(key.parent, {})
        return lambda scope: _presence(found.get(scope), totals.get(scope, 0))


def _presence(found: Feature | None, total: int) -> Feature | None:
    if not total:
        return None
    feature = Feature()
    present = 0 if found is None else found.counts.get("present", 0)
    if present:
        assert found is not None
        feature.add("present", found.examples["present"], present)
    if total > present:
        feature.counts["absent"] = total - present
    return feature


#: A parsed JSON value's type name by its exact class (`json_type` for any other).
_JSON_TYPES: dict[type, str] = {type(None): "null", bool: "boolean", int: "integer",
                                float: "number", str: "string", list: "array", dict: "object"}


class _Node:
    """One field path of one answer kind (`where`) in one scope, while collecting:
    its features, found once, and its children's nodes, so that a value costs
    attribute reads and no path string or key tuple (those are built once per
    parent and name). Nodes are interned by (where, path, scope): two routes to
    one path (`a.b` as a key, or `b` under `a`) share its features."""

    __slots__ = ("children", "count", "items", "key", "length", "objects", "path",
                 "scope", "type", "vocab", "where")

    def __init__(self, where: str, path: str, scope: str) -> None:
        self.where, self.path, self.scope = where, path, scope
        self.children: dict[Any, _Node] = {}
        self.items: _Node | None = None
        self.type: Feature | None = None
        self.key: Feature | None = None
        self.vocab: Feature | None = None
        self.length: Feature | None = None
        self.count: Feature | None = None
        self.objects = 0
        """How many objects this path held in this scope (a presence feature's parent)."""

    def child(self, c: _Collector, name: Any) -> _Node:
        path = self.path
        found = self.children[name] = c.node(
            self.where, f"{path}.{name}" if path else str(name), self.scope)
        return found

    def item_node(self, c: _Collector) -> _Node:
        found = self.items = c.node(self.where, f"{self.path}[]", self.scope)
        return found

    # Each feature is made on first use only: a feature that exists is a key
    # the judge compares.
    def type_feature(self, c: _Collector) -> Feature:
        found = self.type = c.feature("type", self.where, self.path or "(body)", self.scope)
        return found

    def key_feature(self, c: _Collector) -> Feature:
        found = self.key = c.feature("key", self.where, self.path, self.scope)
        return found

    def vocab_feature(self, c: _Collector) -> Feature:
        found = self.vocab = c.feature("vocab", self.where, self.path, self.scope)
        return found

    def length_feature(self, c: _Collector) -> Feature:
        found = self.length = c.feature("text-length", self.where, self.path, self.scope)
        return found

    def count_feature(self, c: _Collector) -> Feature:
        found = self.count = c.feature("count", self.where, f"len({self.path or '(body)'})",
                                       self.scope)
        return found


class _Collector:
    """Features by plain tuple keys while collecting (a `Key` is built once per key)."""

    def __init__(self) -> None:
        self.features: dict[tuple[str, str, str], dict[str, Feature]] = defaultdict(dict)
        self.nodes: dict[tuple[str, str, str], _Node] = {}

    def feature(self, kind: str, where: str, path: str, scope: str) -> Feature:
        scopes = self.features[(kind, where, path)]
        found = scopes.get(scope)
        if found is None:
            found = scopes[scope] = Feature()
        return found

    def node(self, where: str, path: str, scope: str) -> _Node:
        found = self.nodes.get((where, path, scope))
        if found is None:
            found = self.nodes[(where, path, scope)] = _Node(where, path, scope)
        return found

    def parents(self) -> dict[tuple[str, str], dict[str, int]]:
        """(endpoint, object path) → scope → how many objects: every node that held one."""
        parents: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for node in self.nodes.values():
            if node.objects:
                parents[(node.where, node.path)][node.scope] = node.objects
        return dict(parents)

    def walk(self, value: Any, node: _Node, obs: Observed) -> None:
        """Every field path of a JSON value: types, key presence, strings, lengths.
        The hot loop of a summary: `Feature.add` and `sample` written out."""
        kind = _JSON_TYPES.get(type(value)) or json_type(value)
        feature = node.type or node.type_feature(self)
        counts = feature.counts
        counts[kind] = counts.get(kind, 0) + 1
        feature.examples.setdefault(kind, obs)
        if kind == "object":
            node.objects += 1
            children = node.children
            for name, item in value.items():
                child = children.get(name) or node.child(self, name)
                feature = child.key or child.key_feature(self)
                counts = feature.counts
                counts["present"] = counts.get("present", 0) + 1
                feature.examples.setdefault("present", obs)
                self.walk(item, child, obs)
        elif kind == "array":
            if value:
                feature = node.count or node.count_feature(self)
                feature.samples.append(len(value))
                feature.examples.setdefault("", obs)
                items = node.items or node.item_node(self)
                for item in value:
                    self.walk(item, items, obs)
        elif kind == "string":
            feature = node.vocab or node.vocab_feature(self)
            counts = feature.counts
            counts[value] = counts.get(value, 0) + 1
            feature.examples.setdefault(value, obs)
            feature = node.length or node.length_feature(self)
            feature.samples.append(len(value))
            feature.examples.setdefault("", obs)


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
        c.node(where, ANSWER, obs.request).objects += 1
        _headers(c, where, obs)
        if ex.content_type == "text/event-stream":
            _stream(c, where, obs, [(event_name(e), event_data(e)) for e in ex.events])
        elif ex.websocket and ex.status == 101:
            _stream(c, where, obs, [(_ws_type(m), m) for m in ex.ws_json])
        else:
            if ex.json is not NOT_JSON:
                c.walk(ex.json, c.node(where, "", obs.request), obs)
            c.feature("latency", obs.endpoint, "latency", "").sample(
                max(0.0, ex.finished_at - ex.started_at), obs)
    return Summary({Key(*k): v for k, v in c.features.items()}, c.parents(), count)


def _headers(c: _Collector, where: str, obs: Observed) -> None:
    ex = obs.exchange
    names = {n.lower() for n in ex.response_headers}
    for name in names:
        if name not in IGNORED_HEADERS:
            c.feature("header", where, name, obs.request).add("present", obs)
    # `ex.header` is None for a name not in `names`: look up only what is there.
    content_type = ex.header("content-type") if "content-type" in names else None
    if content_type is not None:
        c.feature("vocab", where, "header content-type", obs.request).add(
            content_type.strip().lower(), obs)
    if "retry-after" not in names:
        return
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
            c.walk(data, c.node(where, f"event:{name}", scope), obs)
    for name, n in per_type.items():
        c.feature("count", where, f"events {name} per stream", scope).sample(n, obs)
