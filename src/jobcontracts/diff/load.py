"""Recordings as aligned observations: each exchange with its test, example and request shape.

Alignment is by what a request *is*, never by its position: the test that sent
it (a cassette's `metadata.test`, a HAR file's name), the example within the
test (a cassette's trace number, a HAR page), the endpoint (method and path
template, from the contract) and the body's shape (its keys and value types).
A poll loop that ran 7 times in one run and 9 in the other is one shape in
both, with 7 and 9 exchanges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..apis import API_NAMES
from ..contract import Contract
from ..loader import ContractError, load_contract
from ..recordings.cassette import read_cassette, to_entry
from ..recordings.har import read_har_entries
from ..recordings.recorded import Classifier, Entry, RecordingError, recording_files, segments
from ..recordings.verify import contract_path
from ..trace import NOT_JSON, Exchange, Trace

#: How many endpoint names and body shapes are kept for reuse (memory stays flat).
_NAMES_KEPT = 4096
_ID_SEGMENT = re.compile(r"^(?=.*\d)[A-Za-z0-9_\-.~%]{6,}$|^\d+$")


@dataclass(frozen=True)
class Observed:
    """One exchange of a recording, where it sits in the suite."""

    api: str
    test: str
    example: int
    endpoint: str
    """`GET /v1/generations/{generation_id}`: the contract's template, or the
    path with id-like segments folded to `{}` where no template matches."""
    shape: str
    """The endpoint and the request body's shape: what makes two requests the same."""
    exchange: Exchange
    where: str
    request: str
    """The request's place in the suite (test, example, shape): its scope."""


@dataclass
class Recording:
    """Every observation of one run, and the traces as recorded (for the oracles)."""

    source: str
    observed: list[Observed]
    traces: list[tuple[str, str, Trace]]
    """(api, where, trace) for each segment, for `jobcontracts verify`'s oracles."""


class Endpoints:
    """Names a request's endpoint from the contracts' path templates; a
    contract is loaded when a recording first names its API."""

    def __init__(self, contracts_dir: str | None = None,
                 contracts: dict[str, Contract] | None = None) -> None:
        self.contracts_dir = contracts_dir
        self.contracts: dict[str, Contract] = dict(contracts or {})
        self._missing: set[str] = set()
        self._names: dict[tuple[str, str, str, str, bool], str] = {}
        """Names already found: a poll loop asks for one path many times."""

    def contract(self, api: str) -> Contract | None:
        if api not in self.contracts and api not in self._missing:
            try:
                self.contracts[api] = load_contract(contract_path(api, self.contracts_dir))
            except (ContractError, OSError):
                self._missing.add(api)
        return self.contracts.get(api)

    def name(self, api: str, exchange: Exchange) -> str:
        asked = (api, exchange.method, exchange.path, exchange.origin, api in self.contracts)
        found = self._names.get(asked)
        if found is None:
            if len(self._names) >= _NAMES_KEPT:
                self._names.clear()
            found = self._names[asked] = self._name(api, exchange)
        return found

    def _name(self, api: str, exchange: Exchange) -> str:
        contract = self.contracts.get(api)
        path = exchange.path
        if contract is not None:
            for endpoint in contract.endpoints.values():
                if endpoint.method == exchange.method and endpoint.template.match(path) is not None:
                    return f"{exchange.method} {endpoint.path}"
        folded = "/".join("{}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))
        prefix = "" if exchange.origin == "api" else "external "
        return f"{prefix}{exchange.method} {folded}"


def body_shape(value: Any, depth: int = 0) -> str:
    """`{"answers": [{"question": "q"}]}` → `{answers:[{question:string}]}`."""
    if value is NOT_JSON:
        return "-"
    if isinstance(value, dict):
        if depth > 4:
            return "{…}"
        return "{" + ",".join(f"{k}:{body_shape(v, depth + 1)}" for k, v in sorted(value.items())) \
            + "}"
    if isinstance(value, list):
        items = sorted({body_shape(v, depth + 1) for v in value})
        return "[" + "|".join(items) + "]"
    return json_type(value)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def read_recording(path: str | Path, endpoints: Endpoints,
                   api_hint: str | None = None) -> Recording:
    """Every cassette and HAR file under `path`, as observations."""
    recording = Recording(str(path), [], [])
    root = Path(path)
    for file in recording_files([root]):
        # Within a directory, a file is its place in it (the same in every run's
        # directory); a recording that is one file is one test, by any name.
        relative = str(file.relative_to(root)) if root.is_dir() else "(recording)"
        if file.suffix.lower() in (".har", ".json"):
            api = api_hint or _guess_api(endpoints, read_har_entries(file))
            _add(recording, endpoints, api, relative, read_har_entries(file), str(file))
            continue
        metadata, interactions = read_cassette(file)
        api = str(metadata.get("api") or api_hint or "")
        test = str(metadata.get("test") or relative)
        entries = (to_entry(item, file) for item in interactions)
        _add(recording, endpoints, api, test, entries, str(file))
    return recording


def _add(recording: Recording, endpoints: Endpoints, api: str, test: str,
         entries: Iterable[Entry], source: str) -> None:
    contract = endpoints.contract(api)
    if contract is None:
        raise RecordingError(f"{source}: no contract for API {api!r} (known: "
                             f"{', '.join(API_NAMES)}); pass --contract")
    classifier = Classifier(contract)
    shapes: dict[bytes, str] = {}
    for example, segment in enumerate(segments(entries, source, classifier), 1):
        recording.traces.append((api, segment.where, segment.trace))
        scopes: dict[str, str] = {}  # one string per scope: hashed once
        for exchange in segment.trace:
            endpoint = endpoints.name(api, exchange)
            # A body's shape is its bytes': most requests repeat a body.
            body = shapes.get(exchange.request_body)
            if body is None:
                if len(shapes) >= _NAMES_KEPT:
                    shapes.clear()
                body = shapes[exchange.request_body] = body_shape(exchange.request_json)
            shape = f"{endpoint} {body}"
            scope = scopes.get(shape)
            if scope is None:
                scope = scopes[shape] = f"{test} #{example} {shape}"
            recording.observed.append(Observed(api, test, example, endpoint, shape, exchange,
                                               f"{source} #{exchange.seq}", scope))


def _guess_api(endpoints: Endpoints, entries: Iterator[Entry]) -> str:
    """The API whose templates match most of a foreign recording's paths."""
    from urllib.parse import urlsplit

    paths = [urlsplit(e.url).path for _, e in zip(range(200), entries, strict=False)]
    best, score = "", 0
    for api in API_NAMES:
        contract = endpoints.contract(api)
        if contract is None:
            continue
        hits = sum(1 for p in paths if any(e.template.match(p) is not None
                                           for e in contract.endpoints.values()))
        if hits > score:
            best, score = api, hits
    return best
