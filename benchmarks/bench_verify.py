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


#: Runs the CLI and reports the process's own high-water RSS (VmHWM): the
#: resource module's child figures also count the memory a child inherits
#: before exec and every earlier child, such as the file builder.
_VERIFY = """
import sys, runpy
try:
    runpy.run_module("jobcontracts.cli", run_name="__main__")
finally:
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
    print("PEAK_KB", hwm[0].split()[1] if hwm else 0, file=sys.stderr)
"""


def measure(path: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, summary line) of one verify process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _VERIFY, "verify", str(path),
                           "--contract", "specstep"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"verify exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr}")
    peak_kb = int(done.stderr.rsplit("PEAK_KB", 1)[1].split()[0])
    summary = [line for line in done.stdout.splitlines() if line.startswith("jobcontracts")]
    return elapsed, peak_kb / 1024, summary[0] if summary else ""


def build(path: Path, kind: str, total: int) -> None:
    pages = repeated(sessions(), total)
    if kind == "har":
        write_har(path, pages)
        return
    scrub = Scrubber()
    dump_cassette(path, {"api": "specstep"}, [
        interaction(ex, n, scrub) for n, (_, page) in enumerate(pages, 1) for ex in page])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--also-cassette", action="store_true")
    parser.add_argument("--build", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(Path(args.build[1]), args.build[0], args.exchanges)
        return
    kinds = ["har", "cassette"] if args.also_cassette else ["har"]
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{args.exchanges:,} exchanges; each verify runs in a fresh process")
        for kind in kinds:
            # Built in another process: a forked child starts with its parent's
            # pages, and a big parent would inflate the child's peak RSS.
            path = Path(tmp) / f"long.{'har' if kind == 'har' else 'yaml'}"
            subprocess.run([sys.executable, __file__, "--exchanges", str(args.exchanges),
                            "--build", kind, str(path)], check=True)
            size = path.stat().st_size / 2**20
            runs = [measure(path) for _ in range(args.repeat)]
            times = [r[0] for r in runs]
            print(f"{kind} ({size:.0f} MB): median {statistics.median(times):.1f} s "
                  f"(min {min(times):.1f}, max {max(times):.1f}); peak RSS "
                  f"{max(r[1] for r in runs):.0f} MB; {runs[0][2]}")


if __name__ == "__main__":
    main()
