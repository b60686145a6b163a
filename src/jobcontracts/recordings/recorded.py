"""Recorded traffic as traces: segments, and what a foreign recording leaves out.

A recording (a cassette, a HAR file) is read as a stream of entries and cut
into *segments*, each one trace judged on its own, so memory holds one
segment, never the file. A segment ends where the recording says a run ended
(a cassette's trace number, a HAR page) or where the traffic fell silent for
longer than `split_idle` seconds: past that gap no rule of these contracts
links two requests (the longest documented poll is 15 s, a resume 120 s).

Our own cassettes say which exchanges went to the API and how each presented
its credential (the key itself is scrubbed). A foreign recording does not, so
`Classifier` infers both from the contract: an exchange is the API's when its
path lies under the contract's endpoints on a host that served one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from ..contract import Contract
from ..trace import Exchange, Trace, WsMessage, exchange_of
from .scrub import REDACTED

DEFAULT_SPLIT_IDLE = 600.0


class RecordingError(Exception):
    """A recording that cannot be read; the message names the file and where."""


@dataclass
class Entry:
    """One exchange as a recording holds it, before it joins a segment."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    started_at: float
    finished_at: float
    segment: Any = None
    """The recording's own run boundary (a trace number, a HAR page), if any."""
    origin: str | None = None
    credential: str | None = None
    error: str | None = None
    note: str = ""
    where: str = ""
    ws_messages: tuple[WsMessage, ...] = ()
    ws_close_code: int | None = None


@dataclass(frozen=True, slots=True)
class Cut:
    """An entry as a reader cut it, in reading order, not yet built: what
    cutting segments needs, the API's-or-not (which depends on what came
    before), and its text (or the entry, when it was built here), for a
    worker to build and judge (see `workers.py`)."""

    segment: Any
    started_at: float
    finished_at: float
    where: str
    origin: str | None
    payload: Any
    """A HAR entry's JSON text, a cassette's `RawItem`, or an `Entry`."""


@dataclass
class Segment:
    """One trace cut from a recording, with where it came from. A segment
    judged elsewhere keeps its entries' `cuts` (and `size`), not a trace."""

    source: str
    where: str
    trace: Trace = field(default_factory=Trace)
    cuts: list[Cut] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.cuts) or len(self.trace)

    def describe(self) -> str:
        return f"{self.where} ({self.size} exchanges)"


class Classifier:
    """Says which entries are the API's and how each presented its credential."""

    def __init__(self, contract: Contract, *, base_url: str | None = None,
                 api_key: str | None = None) -> None:
        self.contract = contract
        self.base_url = base_url.rstrip("/") if base_url else None
        self.api_key = api_key
        self.auth_header = contract.target.auth_header.lower()
        templates = [e.template for e in contract.endpoints.values()]
        self._templates = templates
        self.prefix = _common_prefix([e.path for e in contract.endpoints.values()])
        self._api_hosts: set[str] = set()

    def origin(self, entry: Entry) -> str:
        return self.origin_of(entry.method, entry.url)

    def origin_of(self, method: str, url: str) -> str:
        """Called in reading order: a host is the API's from its first
        request to one of the contract's paths on."""
        if method.upper() == "OPTIONS":
            return "external"  # a CORS preflight is the browser's, not the client's
        if self.base_url is not None:
            return "api" if url.startswith(self.base_url) else "external"
        parts = urlsplit(url)
        if parts.netloc not in self._api_hosts and any(
                t.match(parts.path) is not None for t in self._templates):
            self._api_hosts.add(parts.netloc)
        if parts.netloc in self._api_hosts and parts.path.startswith(self.prefix):
            return "api"
        return "external"

    def credential(self, entry: Entry) -> str:
        """Compared with the configured key when the recording kept the header.
        Otherwise (no key given, or the header scrubbed or filtered out, as
        VCR users do) the only evidence left is the answer: a request counts
        as valid unless it was refused with 401. That can hide an auth bug
        offline, but never invents one."""
        presented = ""
        for name, value in entry.request_headers.items():
            if name.lower() == self.auth_header:
                presented = value.strip()
                break
        if self.api_key and presented and REDACTED not in presented:
            return "valid" if presented.endswith(self.api_key) else "invalid"
        if entry.status != 401:
            return "valid"
        return "invalid" if presented else "missing"


def _common_prefix(paths: list[str]) -> str:
    """`/v1/` for `/v1/me` and `/v1/interviews`: the path every endpoint shares."""
    split = [p.strip("/").split("/") for p in paths]
    shared: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1 or parts[0].startswith("{"):
            break
        shared.append(parts[0])
    if split and len(shared) == min(len(s) for s in split):
        shared = shared[:-1]
    return "/" + "".join(f"{p}/" for p in shared)


class _Timed(Protocol):
    @property
    def segment(self) -> Any: ...
    @property
    def started_at(self) -> float: ...
    @property
    def finished_at(self) -> float: ...
    @property
    def where(self) -> str: ...


Timed = TypeVar("Timed", bound=_Timed)


def runs(entries: Iterable[Timed], source: str,
         split_idle: float = DEFAULT_SPLIT_IDLE) -> Iterator[tuple[str, list[Timed]]]:
    """Cut a stream of entries (or `Cut`s) into the runs that make traces,
    each with where it starts; yield each as soon as it ends."""
    current: list[Timed] = []
    where = ""
    mark: Any = None
    last_end = 0.0
    for count, entry in enumerate(entries, 1):
        idle = bool(current) and entry.started_at - last_end > split_idle
        if not current or entry.segment != mark or idle:
            if current:
                yield where, current
            mark, current = entry.segment, []
            where = entry.where or f"{source}: entry {count}"
        last_end = max(last_end, entry.finished_at) if not idle else entry.finished_at
        current.append(entry)
    if current:
        yield where, current


def segments(entries: Iterable[Entry], source: str, classifier: Classifier,
             split_idle: float = DEFAULT_SPLIT_IDLE) -> Iterator[Segment]:
    """Cut a stream of entries into traces; yield each as soon as it ends."""
    for where, run in runs(entries, source, split_idle):
        yield Segment(source, where, build_trace(run, classifier))


def cut_segments(cuts: Iterable[Cut], source: str,
                 split_idle: float = DEFAULT_SPLIT_IDLE) -> Iterator[Segment]:
    """`segments`, the entries left as their cuts, for workers to build."""
    for where, run in runs(cuts, source, split_idle):
        yield Segment(source, where, cuts=run)


def build_trace(entries: Iterable[Entry], classifier: Classifier) -> Trace:
    trace = Trace()
    for entry in entries:
        trace.append(_exchange(entry, trace.next_seq(), classifier))
    return trace


def _exchange(entry: Entry, seq: int, classifier: Classifier) -> Exchange:
    return exchange_of({
        "seq": seq, "method": entry.method.upper(), "url": entry.url,
        "request_headers": entry.request_headers, "request_body": entry.request_body,
        "status": entry.status, "response_headers": entry.response_headers,
        "response_body": entry.response_body, "started_at": entry.started_at,
        "finished_at": entry.finished_at, "origin": entry.origin or classifier.origin(entry),
        "credential": entry.credential or classifier.credential(entry),
        "error": entry.error, "note": entry.note, "ws_messages": entry.ws_messages,
        "ws_close_code": entry.ws_close_code})


def recording_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The files named, and under each directory every cassette and HAR file."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file()
                              and p.suffix.lower() in (".yaml", ".yml", ".har", ".json")
                              and p.name != "jobcontracts-run.yaml")
        elif path.is_file():
            yield path
        else:
            raise RecordingError(f"{path}: no such file or directory")

