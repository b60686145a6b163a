"""Offline verification: judge recorded traffic with the contract's oracles.

`jobcontracts verify PATH... --contract specstep` reads cassettes and HAR
files as streams of segments (see `recorded.py`), judges each segment with
every rule exactly as a live run judges its traces, prints each violation as
it is found (rule id, why, the exchanges, where in which file), and ends with
the rules' tally. Exit status: 0 clean, 1 on any violation, 2 when a file
could not be read (the other files are still judged). A long recording is
read and judged by worker processes (`--jobs`, see `workers.py`), with the
output of a sequential run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import yaml

from ..apis import CONTRACT_FILES
from ..contract import Contract
from ..loader import ContractError, find_contract, load_contract
from ..oracles import judge_trace
from ..oracles.judge import RuleOutcome
from ..report import Ledger
from .cassette import cut_cassette, read_cassette_entries
from .har import cut_har_entries, read_har_entries
from .recorded import (
    DEFAULT_SPLIT_IDLE,
    Classifier,
    Cut,
    Entry,
    RecordingError,
    Segment,
    cut_segments,
    recording_files,
    segments,
)
from .workers import Read, WorkerError, auto_jobs, build, judged, open_pool


def _is_har(path: Path) -> bool:
    return path.suffix.lower() in (".har", ".json")


def read_recording(path: Path, classifier: Classifier,
                   split_idle: float = DEFAULT_SPLIT_IDLE) -> Iterator[Segment]:
    """The segments of one cassette or HAR file, read as a stream."""
    found: Iterable[Entry] = read_har_entries(path) if _is_har(path) \
        else read_cassette_entries(path)
    yield from segments(found, str(path), classifier, split_idle)


def cut_recording(path: Path, classifier: Classifier,
                  split_idle: float = DEFAULT_SPLIT_IDLE) -> Iterator[Segment]:
    """`read_recording`, each segment left as its entries' cuts, for workers
    to build and judge. Where the file stops making sense, the error raised
    is the one a sequential read meets first: an entry of the segment cut
    short may fail to build before it."""
    cuts = cut_har_entries(path, classifier) if _is_har(path) else cut_cassette(path, classifier)
    unsent: deque[Cut] = deque()

    def kept(found: Iterable[Cut]) -> Iterator[Cut]:
        for cut in found:
            unsent.append(cut)
            yield cut

    try:
        for segment in cut_segments(kept(cuts), str(path), split_idle):
            for _ in segment.cuts:
                unsent.popleft()
            yield segment
    except RecordingError:
        for cut in unsent:
            build(cut, path)  # raises the error an entry of the segment cut short makes
        raise


@dataclass
class Outcome:
    files: int = 0
    segments: int = 0
    exchanges: int = 0
    violations: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if self.violations else 0


def contract_path(name: str, contracts_dir: str | None) -> Path:
    """`pos` → `<dir>/pos_adapter_scripts.yaml` (see `find_contract`; `ContractError` if
    there is none); a path to a YAML file is taken as is."""
    if name.endswith((".yaml", ".yml")):
        return Path(name)
    return find_contract(CONTRACT_FILES.get(name, f"{name}.yaml"), contracts_dir,
                         Path.cwd() / "contracts")


def judged_segments(paths: Iterable[str | Path], contract: Contract, classifier: Classifier,
                    ledger: Ledger, outcome: Outcome, split_idle: float = DEFAULT_SPLIT_IDLE,
                    jobs: int = 1) -> Iterator[tuple[Segment, list[str]]]:
    """Judge every segment of every file (by `jobs` worker processes, in
    reading order); yield each with its rendered violations."""
    ledger.register(contract)
    try:
        files = list(recording_files(paths))
    except RecordingError as exc:
        outcome.errors.append(str(exc))
        return
    with open_pool(contract, classifier, jobs) as pool:
        found: Iterable[tuple[int, Segment | None, dict[str, RuleOutcome] | RecordingError]]
        if pool is None:
            found = ((n, s, judge_trace(contract, s.trace)) if isinstance(s, Segment)
                     else (n, None, s) for n, s in _read(files, classifier, split_idle))
        else:
            found = judged(_read(files, classifier, split_idle, cut=True), contract, pool)
        ended = -1
        for number, segment, outcomes in found:
            if number == ended:
                continue  # read on ahead of the error that ended its file
            if isinstance(outcomes, RecordingError):
                outcome.errors.append(str(outcomes))
                ended = number
                continue
            assert segment is not None
            outcome.segments += 1
            outcome.exchanges += segment.size
            ledger.record(outcomes)
            rendered = [v.render() for o in outcomes.values() for v in o.violations]
            outcome.violations += len(rendered)
            yield segment, rendered
    outcome.files = len(files)


def _read(files: list[Path], classifier: Classifier, split_idle: float,
          cut: bool = False) -> Iterator[Read]:
    """Every file's segments in turn (as cuts, with `cut`); a file that cannot
    be read (or stops making sense) ends with its error, and the next file is
    read all the same."""
    for number, path in enumerate(files):
        try:
            for segment in (cut_recording if cut else read_recording)(
                    path, classifier, split_idle):
                yield number, segment
        except RecordingError as exc:
            yield number, exc


def verify(paths: Iterable[str | Path], contract: Contract, *, out: TextIO,
           base_url: str | None = None, api_key: str | None = None,
           split_idle: float = DEFAULT_SPLIT_IDLE, report: Path | None = None,
           jobs: int = 1) -> Outcome:
    ledger = Ledger()
    outcome = Outcome()
    classifier = Classifier(contract, base_url=base_url, api_key=api_key)
    for segment, found in judged_segments(paths, contract, classifier, ledger, outcome,
                                          split_idle, jobs):
        if found:
            out.write(f"FAIL {segment.describe()}\n")
            for text in found:
                out.write(f"  {text.replace(chr(10), chr(10) + '  ')}\n")
    for error in outcome.errors:
        out.write(f"ERROR {error}\n")
    out.write(f"jobcontracts verify ({contract.api}): {outcome.files} file(s), "
              f"{outcome.segments} trace(s), {outcome.exchanges} exchanges\n"
              f"{ledger.summary()}\n")
    for entry in ledger.report()["rules"]:
        if entry["status"] == "violated":
            out.write(f"  violated    {entry['id']}: {entry['detail']}\n")
    if report is not None:
        ledger.write(report)
    return outcome


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="cassettes (.yaml) and HAR files (.har, .json), or directories")
    parser.add_argument("--contract", required=True, metavar="NAME",
                        help="the contract to judge by (specstep, pos, interrogation, or a "
                             "path to a contract YAML file)")
    parser.add_argument("--contracts-dir", default=None, metavar="DIR")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help="the API's base URL in the recording (default: inferred from "
                             "the paths the contract names)")
    parser.add_argument("--api-key", default=None, metavar="KEY",
                        help="the key valid requests carried (default: the contract's key "
                             "variable, e.g. SPECSTEP_API_KEY), to tell valid from invalid")
    parser.add_argument("--split-idle", type=float, default=DEFAULT_SPLIT_IDLE, metavar="S",
                        help="a silence this long ends a trace (default %(default)s s)")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="override a contract setting (the value is read as YAML)")
    parser.add_argument("--report", default=None, metavar="PATH",
                        help="write every rule's status as JSON")
    parser.add_argument("--jobs", "-j", default="auto", metavar="N",
                        help="worker processes judging segments (default: one per core "
                             "for recordings over 8 MB, else none)")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    overrides = {}
    for item in args.setting:
        name, sep, raw = item.partition("=")
        if not sep or not name.isidentifier():
            parser.error(f"--setting {item!r}: expected NAME=VALUE")
        overrides[name] = yaml.safe_load(raw)
    try:
        contract = load_contract(contract_path(args.contract, args.contracts_dir), overrides)
    except ContractError as exc:
        print(f"jobcontracts verify: {exc}", file=sys.stderr)
        return 2
    api_key = args.api_key or os.environ.get(contract.target.key_env) or None
    try:
        jobs = _jobs(args.jobs, args.paths)
    except ValueError:
        parser.error(f"--jobs {args.jobs!r}: expected a number of workers or 'auto'")
    try:
        outcome = verify(args.paths, contract, out=sys.stdout, base_url=args.base_url,
                         api_key=api_key, split_idle=args.split_idle,
                         report=Path(args.report) if args.report else None, jobs=jobs)
    except WorkerError as exc:
        print(f"jobcontracts verify: {exc}; try --jobs 1", file=sys.stderr)
        return 2
    return outcome.exit_code


def _jobs(given: str, paths: Iterable[str]) -> int:
    if given != "auto":
        jobs = int(given)
        if jobs < 1:
            raise ValueError(given)
        return jobs
    try:
        size = sum(p.stat().st_size for p in recording_files(paths))
    except (RecordingError, OSError):
        size = 0  # the error is reported where the files are read
    return auto_jobs(size)
