"""What every oracle needs from a contract to read a trace.

`Context` answers the questions oracles keep asking: which exchanges hit this
endpoint, which answers show this record, what did this resource look like
just before or just after that exchange. Conditions (`when:` in a contract)
are small mappings: `{state: Complete}`, `{state: {in: [A, B]}}`,
`{next_retry_at: {not_null: true}}`, `{humanResponse: {type: string}}`,
`{stakeholder_id: {absent: true}}`, `{stakeholder_profile: {pattern: '\\S'}}`.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ..contract import Contract
from ..trace import ABSENT, NOT_JSON, Exchange, Trace, lookup

Cond = Mapping[str, Any]
OPERATORS = frozenset({"in", "not_in", "null", "not_null", "non_empty", "empty", "type",
                       "absent", "pattern"})
#: `{field: {type: string}}`: the JSON type of a value, as a JSON Schema names it.
JSON_TYPES: Mapping[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, Mapping),
    "null": lambda v: v is None,
}


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON means it: `true` is not `1`, `1` is `1.0`."""
    if type(a) is str:
        return type(b) is str and a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return not (isinstance(a, float) and math.isnan(a)) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def holds(body: Any, cond: Cond | None) -> bool:
    """Does `body` satisfy every clause of `cond`? An empty condition holds."""
    if not cond:
        return True
    for name, expect in cond.items():
        value = lookup(body, name)
        if (type(expect) is dict or isinstance(expect, Mapping)) and expect.keys() <= OPERATORS:
            if not all(_operator(op, arg, value) for op, arg in expect.items()):
                return False
        elif not json_equal(value, expect):
            return False
    return True


def present_as(op: str, value: Any) -> bool:
    """Whether a field's value satisfies `{op: true}` (`not_null`, `non_empty`):
    `holds` on one clause, without building the condition."""
    return _operator(op, True, value)


def _operator(op: str, arg: Any, value: Any) -> bool:
    if op == "type":
        return value is not ABSENT and JSON_TYPES[arg](value)
    if op == "absent":  # the key is not sent at all (null is a value)
        return (value is ABSENT) == bool(arg)
    if op == "pattern":  # a string in which the regex finds a match
        return isinstance(value, str) and re.search(arg, value) is not None
    present = value is not ABSENT and value is not None
    if op == "in":
        return any(json_equal(value, item) for item in arg)
    if op == "not_in":
        return value is not ABSENT and not any(json_equal(value, item) for item in arg)
    if op == "null":
        return (not present) == bool(arg)
    if op == "not_null":
        return present == bool(arg)
    non_empty = present and value != [] and value != {} and value != ""
    return non_empty == bool(arg if op == "non_empty" else not arg)


class Observation(NamedTuple):
    """One answer showing one record: the exchange, the body, the resource key.
    (A named tuple: judging builds one per record per answer, at under half a
    frozen dataclass's cost.)"""

    exchange: Exchange
    body: Mapping[str, Any]
    key: str

    @property
    def seq(self) -> int:
        return self.exchange.seq


class Context:
    """The contract, plus indexes over one trace built once and shared by all checks."""

    def __init__(self, contract: Contract, trace: Trace) -> None:
        self.contract = contract
        self.trace = trace
        self._requests: dict[str, list[tuple[Exchange, dict[str, str]]]] = {}
        self._records: dict[str, dict[str, list[Observation]]] = {}
        self._by_method: dict[str, list[Exchange]] | None = None
        self._where: dict[tuple[str, int], tuple[Cond | None, list[Observation]]] = {}
        self._seqs: dict[tuple[str, str], list[int]] = {}

    @property
    def settings(self) -> Mapping[str, Any]:
        return self.contract.settings

    def requests(self, endpoint: str) -> list[tuple[Exchange, dict[str, str]]]:
        """Exchanges sent to `endpoint` (or every API exchange for `*`), with path params."""
        found = self._requests.get(endpoint)
        if found is None:
            if endpoint == "*":
                found = [(ex, {}) for ex in self.trace if ex.origin == "api"]
            else:
                if self._by_method is None:
                    self._by_method = defaultdict(list)
                    for ex in self.trace:
                        if ex.origin == "api":
                            self._by_method[ex.method].append(ex)
                spec = self.contract.endpoints[endpoint]
                match = spec.template.match
                found = [(ex, params) for ex in self._by_method.get(spec.method, ())
                         if (params := match(ex.path)) is not None]
            self._requests[endpoint] = found
        return found

    def endpoint_of(self, ex: Exchange) -> str | None:
        """The name of the contract endpoint an exchange was sent to, if any."""
        for name, spec in self.contract.endpoints.items():
            if ex.method == spec.method and spec.template.match(ex.path) is not None:
                return name
        return None

    def records(self, name: str) -> dict[str, list[Observation]]:
        """Every observation of record `name`, grouped by resource key, in trace order."""
        if name not in self._records:
            spec = self.contract.records[name]
            grouped: dict[str, list[Observation]] = defaultdict(list)
            for ref in spec.sources:
                endpoint, _, status = ref.partition("@")
                for ex, params in self.requests(endpoint):
                    if (status and ex.status != int(status)) or ex.credential != "valid":
                        continue
                    body = ex.json
                    if not isinstance(body, Mapping):
                        continue
                    key = ex.path if spec.key is None else record_key(spec.key, body, params)
                    if key is not None:
                        grouped[key].append(Observation(ex, body, key))
            for observations in grouped.values():
                observations.sort(key=lambda o: o.seq)
            self._records[name] = dict(grouped)
        return self._records[name]

    def observations(self, name: str, when: Cond | None = None) -> list[Observation]:
        """Every observation of record `name` (grouped by resource key, each
        group in trace order) that satisfies `when`. Checks of one record
        mostly share a condition (or none), so each list is built once."""
        slot = (name, id(when))
        cached = self._where.get(slot)
        if cached is None or cached[0] is not when:
            every = [obs for group in self.records(name).values() for obs in group]
            found = every if not when else [obs for obs in every if holds(obs.body, when)]
            cached = self._where[slot] = (when, found)
        return cached[1]

    def around(self, name: str, key: str,
               seq: int) -> tuple[Observation | None, Observation | None]:
        """The last observation of resource `key` before exchange `seq`, and the first after."""
        group = self.records(name).get(key, [])
        seqs = self._seqs.get((name, key))
        if seqs is None:
            seqs = self._seqs[name, key] = [o.seq for o in group]
        index = bisect.bisect_left(seqs, seq)
        before = group[index - 1] if index > 0 else None
        after_index = index + 1 if index < len(group) and group[index].seq == seq else index
        after = group[after_index] if after_index < len(group) else None
        return before, after

    def seen_values(self, ref: str) -> set[str]:
        """Every value of `record.field` seen anywhere in the trace (e.g. minted
        intake ids); a `*` in `field` stands for every item of a list."""
        record, _, field = ref.partition(".")
        values = set()
        for obs in self.observations(record):
            for value in lookup_all(obs.body, field):
                if isinstance(value, str):
                    values.add(value)
        return values


def lookup_all(body: Any, dotted: str) -> list[Any]:
    """`lookup`, where a `*` step stands for every item of a list (or value of
    an object): `lookup_all(catalog, "stakeholders.*.id")` is every id."""
    head, star, rest = dotted.partition("*")
    if not star:
        value = lookup(body, dotted)
        return [] if value is ABSENT else [value]
    parent = lookup(body, head.rstrip(".")) if head else body
    items = parent if isinstance(parent, list) else (
        list(parent.values()) if isinstance(parent, Mapping) else [])
    rest = rest.lstrip(".")
    return [found for item in items for found in (lookup_all(item, rest) if rest else [item])]


def answered(ex: Exchange) -> bool:
    """A real answer that a rule demanding a status judges: a 5xx too (a `500`
    for an unknown intake is not the `404` SS-GEN-3 demands, as well as
    SS-HTTP-1's server error). A transport error is `no_server_error`'s finding
    and a 429 the rate-limit rules' (the client retried it)."""
    return ex.status > 0 and ex.status != 429


def judgeable(ex: Exchange) -> bool:
    """A real answer that rules about answers in general (a documented status
    and schema) may judge: a 5xx is `no_server_error`'s finding, and judging
    it again there would report one bug under several rules."""
    return answered(ex) and ex.status < 500


def record_key(spec: str, body: Mapping[str, Any], params: Mapping[str, str]) -> str | None:
    if spec.startswith("{") and spec.endswith("}"):
        return params.get(spec[1:-1])
    value = lookup(body, spec)
    return value if isinstance(value, str) and value else None


def request_body(ex: Exchange) -> Any:
    body = ex.request_json
    return None if body is NOT_JSON else body
