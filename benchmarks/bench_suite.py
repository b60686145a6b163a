"""The in-process suite's wall time, side by side with an earlier revision.

Runs `pytest tests [--api API]` on the embedded simulators (one process, no
xdist, one hypothesis seed) from this checkout and, interleaved round by
round so that the machine's load falls on both alike, from a git worktree of
`--against REV`. Each run imports from its own tree (`PYTHONPATH=<tree>/src`).
It reports the median wall seconds of each and the median of each round's own
ratio (this tree / REV), with its range: the figure a noisy shared machine keeps.

With `--forked`, each run is a selftest's: forked from the tree's warm zygote
(`selftests/zygote.py`, started once per tree and not timed), as the fault
sweeps run the suite; arguments after `--` go to each run (a fault, a profile).

Goals (issue 16): `pytest tests` (every API) under 15 s wall on 2 cores;
(issue 13) the jobs part under 5 s.

    python benchmarks/bench_suite.py [--api jobs] [--repeat 3] [--against REV]
    python benchmarks/bench_suite.py --forked --api specstep --against REV -- \
        --sim-fault eta-negative --hypothesis-profile jobcontracts-selftest
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from anchor import tree_env, worktree  # noqa: E402 - beside this script

from selftests.suite_runner import Zygote  # noqa: E402 - the selftests' own zygote client

PASSED = re.compile(r"(\d+) passed.* in ([\d.]+)s")


def suite_run(tree: Path, apis: list[str], extra: list[str],
              zygote: Zygote | None = None) -> tuple[float, float]:
    """(wall seconds, pytest's own seconds) of one suite run from `tree`."""
    selected = [arg for api in apis for arg in ("--api", api)]
    args = ["tests", *selected, "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
            "--hypothesis-seed=1", *extra]
    started = time.perf_counter()
    if zygote is None:
        done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=tree, env=tree_env(tree),
                              capture_output=True, text=True, check=False)
        returncode, output = done.returncode, done.stdout + done.stderr
    else:
        with tempfile.NamedTemporaryFile(suffix=".txt") as log:
            returncode = zygote.run(args, tree_env(tree), Path(log.name), timeout=900)
            output = Path(log.name).read_text(errors="replace")
    wall = time.perf_counter() - started
    found = PASSED.search(output.strip().splitlines()[-1] if output.strip() else "")
    if found is None or (returncode != 0 and not extra):
        sys.exit(f"the suite failed in {tree} ({returncode}):\n{output[-3000:]}")
    return wall, float(found.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against", default=None, metavar="REV",
                        help="an earlier revision to run side by side")
    parser.add_argument("--forked", action="store_true",
                        help="fork each run from the tree's selftest zygote")
    parser.add_argument("extra", nargs="*", help="after --: arguments for each run")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as scratch, \
            contextlib.ExitStack() as stack:
        if args.against:
            trees[args.against] = stack.enter_context(
                worktree(args.against, Path(scratch) / "against"))
        zygotes: dict[str, Zygote] = {}
        try:
            for name, tree in trees.items():
                if args.forked:
                    zygotes[name] = Zygote(tree, tree_env(tree))
                # bytecode caches written, as a user's second run has
                suite_run(tree, args.api, args.extra, zygotes.get(name))
            walls: dict[str, list[float]] = {name: [] for name in trees}
            own: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.repeat):
                for name, tree in trees.items():
                    wall, seconds = suite_run(tree, args.api, args.extra, zygotes.get(name))
                    walls[name].append(wall)
                    own[name].append(seconds)
        finally:
            for zygote in zygotes.values():
                zygote.close()
    what = " ".join([*(f"--api {api}" for api in args.api), *args.extra]) or "(every API)"
    how = ", forked from each tree's zygote" if args.forked else ""
    print(f"pytest tests {what}{how}, median of {args.repeat}:")
    for name in trees:
        print(f"  {name:>12}: {statistics.median(walls[name]):6.2f} s wall, "
              f"{statistics.median(own[name]):6.2f} s as pytest reports it")
    if args.against:
        ratios = [a / b for a, b in zip(walls["this tree"], walls[args.against], strict=True)]
        print(f"  this tree / {args.against}: {statistics.median(ratios):.2f}x "
              f"[{min(ratios):.2f}-{max(ratios):.2f}] wall")


if __name__ == "__main__":
    main()
