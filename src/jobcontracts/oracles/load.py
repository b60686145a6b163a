"""Rule kinds that only concurrent traffic can break (`LOAD-*`, CONTRACT-DEFAULTS
"Under concurrent load (every API)").

They judge a trace merged from many clients (`jobcontracts load`): requests
*race* when their times overlap (one was sent before another was answered),
and a race is what these kinds look for. A failure shows the racing exchanges
side by side, each with when it was sent and answered, relative to the first.

The suite's own contracts use none of these kinds: `contracts/load.yaml`
does, for `jobcontracts load`.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from pydantic import Field

from ..trace import Exchange, Trace, lookup
from .context import Context, answered, request_body
from .http import retry_after_seconds
from .registry import Loc, Params, Verdict, rule_kind

if TYPE_CHECKING:
    from ..contract import Contract


def races(exchanges: Iterable[Exchange]) -> list[list[Exchange]]:
    """The exchanges cut into races: runs in which each one was sent before
    the run's last answer so far had come (their times overlap); only runs of
    two or more are races."""
    ordered = sorted(exchanges, key=lambda ex: (ex.started_at, ex.seq))
    found: list[list[Exchange]] = []
    current: list[Exchange] = []
    end = -math.inf
    for ex in ordered:
        if current and ex.started_at > end:
            if len(current) > 1:
                found.append(current)
            current, end = [], -math.inf
        current.append(ex)
        end = max(end, ex.finished_at)
    if len(current) > 1:
        found.append(current)
    return found


def overlapping(exchanges: Sequence[Exchange]) -> list[Exchange]:
    """Those of `exchanges` whose times overlap another one's (each was sent
    before the other was answered): the ones that truly ran at once."""
    return [a for a in exchanges if any(
        b is not a and a.started_at < b.finished_at and b.started_at < a.finished_at
        for b in exchanges)]


def side_by_side(race: Sequence[Exchange], fields: tuple[str, ...] = ()) -> str:
    """The racing exchanges, one a line, with their times relative to the first
    one sent: `#12 sent +0.000 s answered +0.031 s → 202 job_id='…'`."""
    t0 = min(ex.started_at for ex in race)
    lines = []
    for ex in sorted(race, key=lambda e: (e.started_at, e.seq)):
        answer = ex.describe(fields).split(" → ", 1)[-1]
        lines.append(f"      #{ex.seq} sent +{ex.started_at - t0:.3f} s, answered "
                     f"+{ex.finished_at - t0:.3f} s → {answer}")
    return "racing exchanges (times from the first sent):\n" + "\n".join(lines)


def _key_of(ex: Exchange) -> str:
    body = request_body(ex)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


# ---- LOAD-IDEM-1 -----------------------------------------------------------------------


class RacingKeys(Params):
    request: str
    """The endpoint that takes the key."""
    header: str = "Idempotency-Key"
    committed: list[int] = [202]
    replay: list[int] = [200]
    in_flight: list[int] = [409]
    job_id_field: str = "job_id"
    job_record: str | None = None
    """The record of a committed job (its polls), to see it fail."""
    status_field: str = "status"
    failed: list[str] = ["failed"]
    """A job that ended so frees its key: a later commit under it is lawful."""

    def problems(self, contract: Contract) -> Iterator[tuple[Loc, str]]:
        if self.job_record is not None and self.job_record not in contract.records:
            yield ("job_record",), f"unknown record {self.job_record!r}"


@rule_kind("racing_idempotency_keys", RacingKeys)
def racing_idempotency_keys(trace: Trace, p: RacingKeys, ctx: Context, verdict: Verdict) -> None:
    """Concurrent requests with one key and one body commit at most once: one
    `committed` answer, the others `in_flight` or `replay`; never two jobs,
    never a 5xx."""
    groups: dict[tuple[str, str, str], list[Exchange]] = defaultdict(list)
    for ex, params in ctx.requests(p.request):
        key = ex.request_header(p.header)
        if key is None or ex.credential != "valid" or ex.status == 0:
            continue
        scope = "/".join(f"{k}={v}" for k, v in sorted(params.items()))
        groups[(scope, key, _key_of(ex))].append(ex)
    fields = (p.job_id_field, "error.code")
    allowed = {*p.committed, *p.replay, *p.in_flight, 429}
    failed = set() if p.job_record is None else {
        job for job, seen in ctx.records(p.job_record).items()
        if any(lookup(o.body, p.status_field) in p.failed for o in seen)}
    for group in groups.values():
        for race in races(group):
            # Two commits count only when they ran at once, and the first job
            # did not fail (a failed job frees its key; under load the server
            # may serve the second only after the first has failed).
            commits = [ex for ex in race if ex.status in (*p.committed, *p.replay)
                       and isinstance(lookup(ex.json, p.job_id_field), str | int)
                       and str(lookup(ex.json, p.job_id_field)) not in failed]
            committed = overlapping([ex for ex in commits if ex.status in p.committed])
            jobs = {str(lookup(ex.json, p.job_id_field)) for ex in overlapping(commits)}
            wrong = [ex for ex in race if ex.status not in allowed]
            key = race[0].request_header(p.header)
            if len(committed) > 1 or len(jobs) > 1:
                verdict.violate(
                    f"{len(race)} concurrent requests with Idempotency-Key {key!r} and one "
                    f"body committed {max(len(committed), len(jobs))} times (answers "
                    f"{_statuses(race)}; at most one {_alts(p.committed)})\n"
                    + side_by_side(race, fields), *race, fields=fields)
            elif wrong:
                verdict.violate(
                    f"a request racing others under Idempotency-Key {key!r} got "
                    f"{_statuses(wrong)}, not {_alts(p.committed)}, {_alts(p.in_flight)} "
                    f"or the replay {_alts(p.replay)}\n" + side_by_side(race, fields),
                    *race, fields=fields)
            else:
                verdict.judged()


# ---- LOAD-BATCH-1 ----------------------------------------------------------------------


class RacingBatches(Params):
    request: str
    """The endpoint applying a batch (answers, a slot fill, a respond)."""
    applied: list[int] = [200]
    refused: list[int] = [404, 409, 422]


@rule_kind("racing_batches", RacingBatches)
def racing_batches(trace: Trace, p: RacingBatches, ctx: Context, verdict: Verdict) -> None:
    """Concurrent batches for one resource: at most one is applied, the others
    are refused (`refused`). (What is pending afterwards is the API's own
    rules' to judge, on the trace in which the applied batch is the only one:
    see `jobcontracts.load.judging`.)"""
    groups: dict[str, list[Exchange]] = defaultdict(list)
    for ex, params in ctx.requests(p.request):
        if ex.credential != "valid" or ex.status == 0:
            continue
        groups["/".join(f"{k}={v}" for k, v in sorted(params.items()))].append(ex)
    allowed = {*p.applied, *p.refused, 429}
    fields = ("error.code",)
    for group in groups.values():
        for race in races(group):
            applied = overlapping([ex for ex in race if ex.status in p.applied])
            wrong = [ex for ex in race if ex.status not in allowed]
            if len(applied) > 1:
                verdict.violate(
                    f"{len(applied)} of {len(race)} concurrent batches for one resource were "
                    f"applied (answers {_statuses(race)}; at most one may be)\n"
                    + side_by_side(race, fields), *race, fields=fields)
            elif wrong:
                verdict.violate(
                    f"a batch racing others for one resource got {_statuses(wrong)}, not "
                    f"{_alts(p.applied)} or {_alts(p.refused)}\n" + side_by_side(race, fields),
                    *race, fields=fields)
            else:
                verdict.judged()


# ---- LOAD-CREATE-1 ---------------------------------------------------------------------


class Creation(Params):
    request: str
    field: str
    """Where the answer carries the new resource's id (dotted)."""
    created: list[int] = [200, 201, 202]


class DistinctIds(Params):
    creates: list[Creation] = Field(min_length=1)

    def problems(self, contract: Contract) -> Iterator[tuple[Loc, str]]:
        for i, creation in enumerate(self.creates):
            if creation.request not in contract.endpoints:
                yield ("creates", i, "request"), f"unknown endpoint {creation.request!r}"


@rule_kind("distinct_ids", DistinctIds)
def distinct_ids(trace: Trace, p: DistinctIds, ctx: Context, verdict: Verdict) -> None:
    """Resources created concurrently get distinct ids: every creation that
    raced another of its kind is judged, and no two creations share an id."""
    for creation in p.creates:
        made = [ex for ex, _ in ctx.requests(creation.request)
                if ex.status in creation.created and ex.credential == "valid"]
        by_id: dict[str, list[Exchange]] = defaultdict(list)
        for ex in made:
            value = lookup(ex.json, creation.field)
            if isinstance(value, str | int) and not isinstance(value, bool):
                by_id[str(value)].append(ex)
        for value, same in by_id.items():
            if len(same) > 1:
                verdict.violate(
                    f"{len(same)} resources created by {creation.request} got the same "
                    f"{creation.field} {value!r}\n" + side_by_side(same, (creation.field,)),
                    *same, fields=(creation.field,))
        for race in races(made):
            verdict.judged(sum(1 for ex in race if len(by_id.get(
                str(lookup(ex.json, creation.field)), ())) == 1))


# ---- LOAD-RATE-1 -----------------------------------------------------------------------


class UnderLoad(Params):
    pass


SERVED = "answers other than 429, none a 5xx"
LIMITED = "429 answers, each with Retry-After"


@rule_kind("under_load", UnderLoad)
def under_load(trace: Trace, p: UnderLoad, ctx: Context, verdict: Verdict) -> None:
    """Under load no request gets a 5xx, and every 429 carries a valid
    `Retry-After`. Covers both: the rule is verified only once the load met
    the rate limiter (a 429 was judged)."""
    verdict.covers("kinds of answer under load", (SERVED, LIMITED))
    for ex in trace:
        if ex.origin != "api" or ex.status == 0:
            continue
        if ex.status >= 500:
            verdict.violate(f"server error {ex.status} under load "
                            f"({_in_flight(trace, ex)} request(s) in flight)", ex,
                            fields=("error.code",))
        elif ex.status == 429:
            if retry_after_seconds(ex) is None:
                verdict.violate(f"a 429 under load without a valid Retry-After "
                                f"({_in_flight(trace, ex)} request(s) in flight)", ex,
                                fields=("Retry-After",))
            else:
                verdict.judged(part=LIMITED)
        else:
            verdict.judged(part=SERVED)


def _in_flight(trace: Trace, ex: Exchange) -> int:
    """How many requests of the trace were open when `ex` was answered."""
    t = ex.finished_at
    return sum(1 for other in trace if other.started_at <= t <= other.finished_at)


# ---- LOAD-LAT-1 ------------------------------------------------------------------------


class LatencyP95(Params):
    p95_ms: float | None = None
    """The budget; None: latency is reported, not judged."""
    clock_speed: float = 1.0
    """How much faster than real time the trace's clock ran (a served
    simulator's speed): durations are divided by it."""
    min_samples: int = 10


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (nearest rank) of `values` (not empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def wall_ms(ex: Exchange, speed: float) -> float:
    return max(0.0, ex.finished_at - ex.started_at) / speed * 1000


def timed_requests(ctx: Context) -> dict[str, list[Exchange]]:
    """Per endpoint of the contract, its answered requests whose time is a
    latency (streams and WebSocket connections last as long as they are read)."""
    found: dict[str, list[Exchange]] = {}
    for name, spec in ctx.contract.endpoints.items():
        if spec.streams:
            continue
        found[name] = [ex for ex, _ in ctx.requests(name) if answered(ex) or ex.status == 429
                       if ex.content_type != "text/event-stream" and not ex.websocket]
    return found


@rule_kind("latency_p95", LatencyP95)
def latency_p95(trace: Trace, p: LatencyP95, ctx: Context, verdict: Verdict) -> None:
    """Per endpoint with at least `min_samples` answers, the 95th percentile
    latency is at most `p95_ms` (nothing is judged when it is not set)."""
    if p.p95_ms is None:
        return
    for name, exchanges in timed_requests(ctx).items():
        if len(exchanges) < p.min_samples:
            continue
        p95 = percentile([wall_ms(ex, p.clock_speed) for ex in exchanges], 95)
        if p95 <= p.p95_ms:
            verdict.judged()
            continue
        slowest = sorted(exchanges, key=lambda ex: wall_ms(ex, p.clock_speed))[-3:]
        times = ", ".join(f"#{ex.seq} {wall_ms(ex, p.clock_speed):.0f} ms" for ex in slowest)
        verdict.violate(f"{name}: p95 latency {p95:.0f} ms over {len(exchanges)} requests "
                        f"exceeds p95_ms {p.p95_ms:g} (slowest: {times})", *slowest)


def _statuses(exchanges: Iterable[Exchange]) -> str:
    return ", ".join(str(ex.status) for ex in sorted(exchanges, key=lambda e: e.started_at))


def _alts(statuses: Sequence[int]) -> str:
    return "/".join(map(str, statuses))
