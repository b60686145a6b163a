"""Offline verification of a long recording: HAR against one YAML cassette.

Builds the same traffic twice, as a HAR file and as one YAML cassette, at two
lengths (default 100,000 and 25,000 exchanges): the recorded fixture session's
pages over and over, each copy shifted in time, as a long proxy capture of
many client sessions would be. Then, interleaved so that the machine's load
falls on both alike, runs in a fresh process per repeat:

- `jobcontracts verify` on each file: wall and CPU seconds, peak RSS;
- the same read without judging (`read_recording` alone), which tells the
  time spent reading the file from the time spent judging its traces.

It reports the ratios a noisy shared machine keeps: cassette against HAR on
the same traffic, and the long file's peak RSS against the short one's (flat
means about 1.0). Goals (issue 16): 100,000 exchanges verify in under 10 s
from one cassette and under 5 s from HAR, peak RSS under 200 MB.

Where the time went (cProfile, 25,000 exchanges, one cassette, reading only;
`python benchmarks/bench_verify.py --profile cassette`), before:

    ncalls  tottime  cumtime  function
     25001   11.084   48.012  yaml/constructor.py:47(get_single_data)
   1724006    8.235   16.494  yaml/constructor.py:67(construct_object)
   1723840    5.292    6.807  yaml/resolver.py:143(resolve)
     25003    3.518   54.787  yamlstream.py:72(_block_items)   (a Python loop per line)
    200002    3.002   18.784  yaml/constructor.py:132(construct_mapping)

libyaml parsed each interaction in C, but PyYAML built its hundred nodes and
resolved every scalar in Python. After (`yamlstream._fast` reads the block
YAML PyYAML writes, libyaml only for what it does not know; items are cut by
a regex over megabyte blocks):

    ncalls  tottime  cumtime  function
    200000    4.096   10.874  yamlstream.py:(mapping)
    232999    1.314   11.252  yamlstream.py:(sequence)
     25000    0.697    1.735  cassette.py:(to_entry)
    382999    0.664   10.325  yamlstream.py:(below)

HAR, before: `ijson` (yajl2_c) was 2.8 s of a 3.6 s profiled read; after, each
entry is one `json.JSONDecoder.raw_decode` over a block of text, about twice
as fast. Judging (`--profile judge`, 9.9 s profiled) is spread over the oracles:

    ncalls  tottime  cumtime  function
    618663    0.696    1.483  trace.py:(lookup)
   2097864    0.624    1.054  {builtins.isinstance}   (782,531 of them ABC Mapping checks)
    321291    0.474    1.293  oracles/context.py:(holds)
      6012    0.408    1.325  oracles/projection.py:(field_type)
    445695    0.332    0.428  oracles/lawful.py:39(<genexpr>)
     21527    0.313    0.723  oracles/context.py:(requests)

and after this change it is most of a verify: about 17 s of CPU per 100,000
exchanges with the 39 SpecStep rules, from either format.

Then (the oracles, judging the fixture session's traces again and again):
113 us per exchange, spread over `holds` (a record's `when` tested again by
every check of it), `field_type`, `lookup`, `requests` and `around`; 56 us
after each record's observations under a condition are filtered once per
trace and the values that pass take quick paths. Judged cold, each exchange
also pays its JSON parse and the first validation of its request (`lawful`),
about 90 us in all. `verify --jobs` then judges traces, and parses a
cassette's interactions, in forked workers: on 2 cores a verify's CPU grows
by about a third (every process runs about a fifth slower beside another,
plus the pickles), so the wall time falls by a tenth (HAR, where reading
stays here) to a quarter (a cassette).

Then the workers build and judge whole segments from their entries' text
(this process only cuts). One worker's build and judge of 300 segments
(22,950 exchanges), profiled: 8.9 s, of which jsonschema's `descend` and
`evolve` (request bodies' `otherwise_valid`, error bodies) were 1.0 s; with
jsonschema-rs asked first (`oracles/schemas.py`) 7.3 s, its top lines now:

    ncalls  tottime  cumtime  function
    564900    0.441    0.585  trace.py:(lookup)
     48300    0.308    0.308  {orjson.loads}                 (bodies, and the entries)
     22950    0.274    1.011  recordings/har.py:(_entry)
      5400    0.238    0.601  oracles/projection.py:(field_type)
     45900    0.233    0.288  recordings/har.py:(_headers)
     63300    0.210    0.505  oracles/context.py:(holds)

`--against REV` also verifies each file from a worktree of REV (the anchor),
interleaved, and reports this tree's wall time against it from the same run.

Usage: python benchmarks/bench_verify.py [--exchanges N] [--short M] [--repeat K]
                                         [--profile har|cassette|judge] [--against REV]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from anchor import tree_env, worktree  # beside this script

from jobcontracts.loader import load_contract
from jobcontracts.recordings.cassette import dump_cassette, interaction
from jobcontracts.recordings.har import read_har_entries, write_har
from jobcontracts.recordings.recorded import Classifier, segments
from jobcontracts.recordings.scrub import Scrubber
from jobcontracts.trace import Exchange

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "fixtures" / "har" / "specstep-session.har"
CONTRACT = ROOT / "contracts" / "specstep.yaml"
KINDS = ("har", "cassette")


def sessions() -> list[list[Exchange]]:
    contract = load_contract(CONTRACT)
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


#: Runs the CLI (or only reads, with `--read-only`) and reports the process's
#: own high-water RSS (VmHWM): the resource module's child figures also count
#: the memory a child inherits before exec and every earlier child.
_CHILD = """
import sys, runpy
try:
    if sys.argv[1] == "--read-only":
        from pathlib import Path
        from jobcontracts.loader import load_contract
        from jobcontracts.recordings.recorded import Classifier
        from jobcontracts.recordings.verify import read_recording
        contract = load_contract(Path(sys.argv[3]))
        count = sum(len(s.trace) for s in read_recording(Path(sys.argv[2]), Classifier(contract)))
        print(f"jobcontracts read: {count} exchanges")
    else:
        runpy.run_module("jobcontracts.cli", run_name="__main__")
finally:
    import resource
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
    print("PEAK_KB", hwm[0].split()[1] if hwm else 0, file=sys.stderr)
    print("WORKER_KB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
"""


@dataclasses.dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_mb: float
    summary: str
    worker_mb: float = 0.0
    """The largest judging worker's peak RSS (0: none was forked)."""


def measure(path: Path, read_only: bool = False, jobs: str = "auto", tree: Path = ROOT) -> Run:
    """One fresh process verifying (or only reading) `path`, importing from `tree`."""
    args = (["--read-only", str(path), str(CONTRACT)] if read_only
            else ["verify", str(path), "--contract", str(CONTRACT), "--jobs", jobs])
    env = tree_env(tree)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # 1: the traffic broke a rule. The fixture is clean, so that is a
    # regression (or an oracle mid-change) to look at, but still a timing.
    if done.returncode not in (0, 1) or "PEAK_KB" not in done.stderr:
        sys.exit(f"{args[0]} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr}")
    peak_kb = int(done.stderr.rsplit("PEAK_KB", 1)[1].split()[0])
    lines = done.stdout.splitlines()
    summary = next((line for line in lines if line.startswith("jobcontracts")), "")
    if done.returncode == 1:
        violated = sum(1 for line in lines if line.lstrip().startswith("violated"))
        summary += f"; {violated} rule(s) violated: the fixture is clean, look at them"
    worker_kb = int(done.stderr.rsplit("WORKER_KB", 1)[1].split()[0])
    return Run(wall, cpu, peak_kb / 1024, summary, worker_kb / 1024)


def build(path: Path, kind: str, total: int) -> None:
    pages = repeated(sessions(), total)
    if kind == "har":
        write_har(path, pages)
        return
    scrub = Scrubber()
    dump_cassette(path, {"api": "specstep"}, [
        interaction(ex, n, scrub) for n, (_, page) in enumerate(pages, 1) for ex in page])


def profile(kind: str, total: int) -> None:
    """cProfile of reading (`har`, `cassette`) or judging (`judge`) `total` exchanges."""
    from jobcontracts.oracles import judge_trace
    from jobcontracts.recordings.verify import read_recording

    contract = load_contract(CONTRACT)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("long.yaml" if kind == "cassette" else "long.har")
        build(path, "cassette" if kind == "cassette" else "har", total)
        found = read_recording(path, Classifier(contract))
        profiler = cProfile.Profile()
        if kind == "judge":
            traces = [segment.trace for segment in found]
            profiler.runcall(lambda: [judge_trace(contract, t) for t in traces])
        else:
            profiler.runcall(lambda: sum(len(s.trace) for s in found))
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def _median(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(r, field) for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--short", type=int, default=25_000,
                        help="the shorter file, for peak RSS flat in the length (0: none)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", choices=("har", "cassette", "judge"))
    parser.add_argument("--against", metavar="REV",
                        help="also verify each file from a worktree of REV (the anchor), "
                             "interleaved, and report this tree's wall time against it")
    parser.add_argument("--also-cassette", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(Path(args.build[1]), args.build[0], args.exchanges)
        return
    if args.profile:
        profile(args.profile, args.short or args.exchanges)
        return
    sizes = [args.exchanges] + ([args.short] if args.short else [])
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        anchor = (stack.enter_context(worktree(args.against, Path(tmp) / "anchor"))
                  if args.against else None)
        _compare(args, sizes, Path(tmp), anchor)


def _compare(args: argparse.Namespace, sizes: list[int], tmp: Path, anchor: Path | None) -> None:
    files: dict[tuple[str, int], Path] = {}
    builders = []
    for size in sizes:
        for kind in KINDS:
            # Built in another process: a forked child starts with its
            # parent's pages, and a big parent would inflate its peak RSS.
            suffix = "har" if kind == "har" else "yaml"
            path = files[kind, size] = tmp / f"{size}.{suffix}"
            builders.append(subprocess.Popen([sys.executable, __file__, "--exchanges",
                                              str(size), "--build", kind, str(path)]))
    if any(b.wait() for b in builders):
        sys.exit("building the recordings failed")
    verified: dict[tuple[str, int], list[Run]] = {key: [] for key in files}
    alone: dict[tuple[str, int], list[Run]] = {key: [] for key in files}
    read: dict[tuple[str, int], list[Run]] = {key: [] for key in files}
    anchored: dict[tuple[str, int], list[Run]] = {key: [] for key in files}
    for _ in range(args.repeat):
        for key, path in files.items():  # interleaved: load drifts onto every file alike
            verified[key].append(measure(path))
            if anchor is not None:
                anchored[key].append(measure(path, tree=anchor))
            alone[key].append(measure(path, jobs="1"))
            read[key].append(measure(path, read_only=True))
    print(f"verify (its default --jobs, one worker per core for these files), median of "
          f"{args.repeat} fresh processes each (wall / CPU seconds, the workers' too); "
          "with --jobs 1; reading alone, without judging")
    for (kind, size), path in files.items():
        v, a, r = verified[kind, size], alone[kind, size], read[kind, size]
        workers = max(x.worker_mb for x in v)
        print(f"  {kind:8} {size:>7,} ({path.stat().st_size / 2**20:.0f} MB): "
              f"{_median(v, 'wall'):5.1f} s / {_median(v, 'cpu'):5.1f} s CPU; --jobs 1 "
              f"{_median(a, 'wall'):5.1f} s / {_median(a, 'cpu'):5.1f} s CPU; read alone "
              f"{_median(r, 'wall'):5.1f} s / {_median(r, 'cpu'):5.1f} s CPU")
        print(f"           peak RSS {max(x.peak_mb for x in v):.0f} MB, each worker up to "
              f"{workers:.0f} MB; --jobs 1 {max(x.peak_mb for x in a):.0f} MB")
        print(f"           {v[0].summary}")
    print("ratios")
    if anchor is not None:
        for (kind, size), runs in anchored.items():
            mine = verified[kind, size]
            each = sorted(a.wall / b.wall for a, b in zip(mine, runs, strict=True))
            print(f"  {size:>7,}: {kind} verify, this tree / {args.against}: "
                  f"{_median(mine, 'wall'):.1f} s / {_median(runs, 'wall'):.1f} s wall, "
                  f"{statistics.median(each):.2f}x [{each[0]:.2f}-{each[-1]:.2f}]; CPU "
                  f"{_median(mine, 'cpu'):.1f} s / {_median(runs, 'cpu'):.1f} s")
    for size in sizes:
        har, cas = verified["har", size], verified["cassette", size]
        rhar, rcas = read["har", size], read["cassette", size]
        print(f"  {size:>7,}: workers / --jobs 1, wall: HAR "
              f"{_median(har, 'wall') / _median(alone['har', size], 'wall'):.2f}, cassette "
              f"{_median(cas, 'wall') / _median(alone['cassette', size], 'wall'):.2f}")
        print(f"  {size:>7,}: cassette / HAR verify "
              f"{_median(cas, 'wall') / _median(har, 'wall'):.2f} wall, "
              f"{_median(cas, 'cpu') / _median(har, 'cpu'):.2f} CPU; reading alone "
              f"{_median(rcas, 'cpu') / _median(rhar, 'cpu'):.2f} CPU; judging's share of "
              f"a --jobs 1 verify's CPU: HAR "
              f"{1 - _median(rhar, 'cpu') / _median(alone['har', size], 'cpu'):.0%}, cassette "
              f"{1 - _median(rcas, 'cpu') / _median(alone['cassette', size], 'cpu'):.0%}")
    if args.short:
        for kind in KINDS:
            long_mb = max(x.peak_mb for x in verified[kind, args.exchanges])
            short_mb = max(x.peak_mb for x in verified[kind, args.short])
            print(f"  {kind}: peak RSS {args.exchanges:,} / {args.short:,} exchanges "
                  f"{long_mb / short_mb:.2f} ({long_mb:.0f} / {short_mb:.0f} MB)")


if __name__ == "__main__":
    main()
