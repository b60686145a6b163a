"""The in-process suite's wall time, side by side with an earlier revision.

Runs `pytest tests [--api API]` on the embedded simulators (one process, no
xdist, one hypothesis seed) from this checkout and, interleaved round by
round so that the machine's load falls on both alike, from a git worktree of
`--against REV`. Each run imports from its own tree (`PYTHONPATH=<tree>/src`).
It reports the median wall seconds of each and the median of each round's own
ratio (this tree / REV), with its range: the figure a noisy shared machine keeps.

Goals (issue 16): `pytest tests` (every API) under 15 s wall on 2 cores;
(issue 13) the jobs part under 5 s.

    python benchmarks/bench_suite.py [--api jobs] [--repeat 3] [--against REV]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSED = re.compile(r"(\d+) passed.* in ([\d.]+)s")


def suite_run(tree: Path, apis: list[str]) -> tuple[float, float]:
    """(wall seconds, pytest's own seconds) of one suite run from `tree`."""
    selected = [arg for api in apis for arg in ("--api", api)]
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "tests", *selected, "-q",
                           "-p", "no:cacheprovider", "-p", "no:xdist", "--hypothesis-seed=1"],
                          cwd=tree, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    found = PASSED.search(done.stdout.splitlines()[-1] if done.stdout else "")
    if done.returncode != 0 or found is None:
        sys.exit(f"the suite failed in {tree}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, float(found.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against", default=None, metavar="REV",
                        help="an earlier revision to run side by side")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as scratch:
        if args.against:
            other = Path(scratch) / "against"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other), args.against],
                           cwd=ROOT, check=True)
            trees[args.against] = other
        try:
            for tree in trees.values():  # bytecode caches written, as a user's second run has
                suite_run(tree, args.api)
            walls: dict[str, list[float]] = {name: [] for name in trees}
            own: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.repeat):
                for name, tree in trees.items():
                    wall, seconds = suite_run(tree, args.api)
                    walls[name].append(wall)
                    own[name].append(seconds)
        finally:
            if args.against:
                subprocess.run(["git", "worktree", "remove", "--force", str(trees[args.against])],
                               cwd=ROOT, check=False)
    what = " ".join(f"--api {api}" for api in args.api) or "(every API)"
    print(f"pytest tests {what}, median of {args.repeat}:")
    for name in trees:
        print(f"  {name:>12}: {statistics.median(walls[name]):6.2f} s wall, "
              f"{statistics.median(own[name]):6.2f} s as pytest reports it")
    if args.against:
        ratios = [a / b for a, b in zip(walls["this tree"], walls[args.against], strict=True)]
        print(f"  this tree / {args.against}: {statistics.median(ratios):.2f}x "
              f"[{min(ratios):.2f}-{max(ratios):.2f}] wall")


if __name__ == "__main__":
    main()
