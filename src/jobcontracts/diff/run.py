"""`jobcontracts diff BASELINE CANDIDATE --noise BASELINE_AGAIN`: the regression diff
over recordings, with the rule violations the recordings show listed first."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..oracles import judge_trace
from ..recordings.recorded import RecordingError
from .features import Summary, summarise
from .judge import Difference, Noise, Settings, compare
from .load import Endpoints, Recording, read_recording

RUNS = ("baseline", "baseline-again", "candidate")


@dataclass
class DiffResult:
    differences: list[Difference]
    noise: list[Noise]
    violations: list[tuple[str, str]] = field(default_factory=list)
    """(run, rendered violation) for every rule a recording breaks."""
    exchanges: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.differences or self.violations else 0

    def as_json(self) -> dict[str, Any]:
        return {"differences": [d.as_json() for d in self.differences],
                "violations": [{"run": run, "violation": text} for run, text in self.violations],
                "noise": [n.as_json() for n in self.noise],
                "exchanges": self.exchanges, "seconds": round(self.seconds, 3)}


def diff_recordings(baseline: str | Path, candidate: str | Path, again: str | Path, *,
                    settings: Settings | None = None, contract: str | None = None,
                    contracts_dir: str | None = None, judge: bool = True,
                    judge_baseline: bool = False) -> DiffResult:
    """Read the three recordings, learn the noise, report the differences.
    `RecordingError` when a recording cannot be read."""
    started = time.perf_counter()
    with _cyclic_gc_paused():
        result = _diff(baseline, candidate, again, settings or Settings(), contract,
                       contracts_dir, judge, judge_baseline)
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """The diff builds millions of small objects (parsed answers, features) that
    all live until it ends and make no reference cycles; CPython's cycle
    collector would walk them all again and again as they pile up (a third of
    the diff's time, measured: benchmarks/bench_diff.py). Reference counting
    still frees everything; peak RSS is the same with the collector on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _diff(baseline: str | Path, candidate: str | Path, again: str | Path, settings: Settings,
          contract: str | None, contracts_dir: str | None, judge: bool,
          judge_baseline: bool) -> DiffResult:
    endpoints = Endpoints(contracts_dir)
    hint = None
    if contract:
        known = endpoints.contract(contract)
        if known is None:
            raise RecordingError(f"--contract {contract}: no such contract")
        hint = known.api
        endpoints.contracts[hint] = known
    paths = [baseline, again, candidate]
    # The candidate's rule violations; the release's too with `judge_baseline`.
    prepared = [_prepare(path, endpoints, hint, judge and (judge_baseline or run == "candidate"))
                for run, path in zip(RUNS, paths, strict=True)]
    summaries = dict(zip(RUNS, (p[0] for p in prepared), strict=True))
    differences, noise = compare(summaries["baseline"], [summaries["baseline-again"]],
                                 summaries["candidate"], settings)
    result = DiffResult(differences, noise,
                        exchanges={run: s.exchanges for run, s in summaries.items()})
    for run, (_, found) in zip(RUNS, prepared, strict=True):
        result.violations += [(run, text) for text in found]
    return result


def _prepare(path: str | Path, endpoints: Endpoints, hint: str | None,
             judge: bool) -> tuple[Summary, list[str]]:
    """One recording read, summed up, and (if `judge`) judged by the contract's rules."""
    recording = read_recording(path, endpoints, hint)
    if not recording.observed:
        raise RecordingError(f"{recording.source}: the recording holds no exchange")
    return summarise(recording.observed), _violations(recording, endpoints) if judge else []


def _violations(recording: Recording, endpoints: Endpoints) -> list[str]:
    found = []
    for api, where, trace in recording.traces:
        contract = endpoints.contract(api)
        if contract is None:
            continue
        outcomes = judge_trace(contract, trace)
        for outcome in outcomes.values():
            for violation in outcome.violations:
                found.append(f"{violation.render()}\n    in {where}")
    return found


def render(result: DiffResult, out: TextIO) -> None:
    """Rule violations first, then each difference as a rule failure reads."""
    for run, text in result.violations:
        out.write(f"VIOLATION ({run}) {text}\n")
    for d in result.differences:
        out.write(f"DIFF {d.kind} {d.endpoint or '(suite)'} {d.field}: {d.why}\n")
        if d.scopes and d.scopes[0]:
            out.write(f"    request: {d.scopes[0]}\n")
        for side, obs in (("baseline ", d.baseline_example), ("candidate", d.candidate_example)):
            if obs is not None:
                shown = _fields(d.field)
                out.write(f"    {side} {obs.exchange.describe(shown)}\n"
                          f"              at {obs.where}\n")
    runs = ", ".join(f"{run} {n}" for run, n in result.exchanges.items())
    out.write(f"jobcontracts diff: {len(result.differences)} difference(s), "
              f"{len(result.violations)} rule violation(s), {len(result.noise)} noisy "
              f"feature(s) learned; exchanges: {runs}; {result.seconds:.2f} s\n")


def _fields(path: str) -> tuple[str, ...]:
    """The dotted field a line should show (`error.code`), if the path names one."""
    if path.startswith(("event:", "len(", "events ", "header ")) or "[]" in path:
        return ()
    return (path.removesuffix(" min").removesuffix(" max"),)


def add_settings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", default=None, metavar="PATH",
                        help="write the differences, violations and learned noise as JSON")
    parser.add_argument("--latency-ratio", type=float, default=Settings.latency_ratio,
                        metavar="X", help="report a median or p95 latency this many times the "
                                          "baseline's (default %(default)s)")
    parser.add_argument("--latency-floor", type=float, default=Settings.latency_floor,
                        metavar="S", help="ignore latency growth under this many seconds "
                                          "(default %(default)s)")
    parser.add_argument("--no-latency", action="store_true", help="do not compare latency")
    parser.add_argument("--length-ratio", type=float, default=Settings.length_ratio,
                        metavar="X", help="report a text this many times shorter or longer "
                                          "(default %(default)s)")
    parser.add_argument("--contracts-dir", default=None, metavar="DIR")
    parser.add_argument("--judge-baseline", action="store_true",
                        help="judge the baseline's recordings by the rules too (default: the "
                             "candidate's only)")
    parser.add_argument("--no-rules", action="store_true",
                        help="report the differences only, judging no recording by the rules")


def settings_of(args: argparse.Namespace) -> Settings:
    return Settings(latency_ratio=args.latency_ratio, latency_floor=args.latency_floor,
                    length_ratio=args.length_ratio, latency=not args.no_latency)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", metavar="BASELINE",
                        help="a recording of the release (a `--record` directory or HAR file)")
    parser.add_argument("candidate", metavar="CANDIDATE", help="a recording of the candidate")
    parser.add_argument("--noise", required=True, metavar="BASELINE_AGAIN",
                        help="a second recording of the release, with the same seed")
    parser.add_argument("--contract", default=None, metavar="NAME",
                        help="the API of a HAR file (default: the cassettes' own, or guessed)")
    add_settings(parser)


def finish(result: DiffResult, args: argparse.Namespace, out: TextIO | None = None) -> int:
    render(result, out or sys.stdout)
    if args.report:
        Path(args.report).write_text(json.dumps(result.as_json(), indent=2) + "\n",
                                     encoding="utf-8")
    return result.exit_code


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        result = diff_recordings(args.baseline, args.candidate, args.noise,
                                 settings=settings_of(args), contract=args.contract,
                                 contracts_dir=args.contracts_dir, judge=not args.no_rules,
                                 judge_baseline=args.judge_baseline)
    except RecordingError as exc:
        print(f"jobcontracts diff: {exc}", file=sys.stderr)
        return 2
    return finish(result, args)
