"""Offline verification of a long recording: time and peak memory.

Builds a HAR file of N exchanges (default 100,000) from the recorded fixture
session: the same pages over and over, each shifted in time, as a long proxy
capture of many client sessions would be. Then runs `jobcontracts verify` on
it in a fresh process, once per repeat, and reports the wall time and the peak
resident memory of that process (goals: under 30 s and under 200 MB on this
2-core machine). `--also-cassette` does the same with one YAML cassette.

Usage: python benchmarks/bench_verify.py [--exchanges N] [--repeat K] [--also-cassette]
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from jobcontracts.cassette import dump_cassette, interaction
from jobcontracts.har import read_har_entries, write_har
from jobcontracts.loader import load_contract
from jobcontracts.recorded import Classifier, segments
from jobcontracts.scrub import Scrubber
from jobcontracts.trace import Exchange

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "fixtures" / "har" / "specstep-session.har"


def sessions() -> list[list[Exchange]]:
    contract = load_contract(ROOT / "contracts" / "specstep.yaml")
    found = segments(read_har_entries(SOURCE), str(SOURCE), Classifier(contract))
    return [list(segment.trace) for segment in found]


def repeated(pages: list[list[Exchange]], total: int) -> Iterator[tuple[str, list[Exchange]]]:
    """Pages copied until `total` exchanges, each copy an hour after the last."""
    count = copy = 0
    while count < total:
        for page in pages:
            shift = copy * 3600.0
            chunk = [dataclasses.replace(ex, started_at=ex.started_at + shift,
                                         finished_at=ex.finished_at + shift)
                     for ex in page[: total - count]]
            count += len(chunk)
            yield f"page_{copy}_{len(chunk)}", chunk
            copy += 1
            if count >= total:
                return


def measure(path: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, summary line) of one verify process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "jobcontracts.cli", "verify", str(path),
                           "--contract", "specstep"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        sys.exit(f"verify exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr}")
    if peak_kb < before:
        peak_kb = before
    summary = [line for line in done.stdout.splitlines() if line.startswith("jobcontracts")]
    return elapsed, peak_kb / 1024, summary[0] if summary else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--also-cassette", action="store_true")
    args = parser.parse_args()
    pages = sessions()
    with tempfile.TemporaryDirectory() as tmp:
        har = Path(tmp) / "long.har"
        written = write_har(har, repeated(pages, args.exchanges))
        files = [("HAR", har)]
        if args.also_cassette:
            cassette = Path(tmp) / "long.yaml"
            scrub = Scrubber()
            dump_cassette(cassette, {"api": "specstep"}, [
                interaction(ex, n, scrub)
                for n, (_, page) in enumerate(repeated(pages, args.exchanges), 1)
                for ex in page])
            files.append(("cassette", cassette))
        print(f"{written:,} exchanges; verify runs in a fresh process each time")
        for name, path in files:
            size = path.stat().st_size / 2**20
            runs = [measure(path) for _ in range(args.repeat)]
            times = [r[0] for r in runs]
            print(f"{name} ({size:.0f} MB): median {statistics.median(times):.1f} s "
                  f"(min {min(times):.1f}, max {max(times):.1f}); peak RSS "
                  f"{max(r[1] for r in runs):.0f} MB; {runs[0][2]}")


if __name__ == "__main__":
    main()
