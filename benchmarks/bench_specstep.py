"""SpecStep suite speed on the embedded simulator.

Reports, from one run on this machine:
  1. the wall time of the whole SpecStep contract suite, in-process simulator
     (`pytest tests --api specstep`, one process; goal < 20 s on 2 cores);
  2. the ratio of simulated to wall time for one full Thorough generation
     (~32 simulated minutes: interview, generation polled every 15 s as the
     document does, clarifications answered, package downloaded; goal > 10,000x).

Usage: python benchmarks/bench_specstep.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from jobcontracts.apis import api_support
from jobcontracts.client import Client
from jobcontracts.clock import VirtualClock
from jobcontracts.loader import load_contract
from jobcontracts.trace import Trace

ROOT = Path(__file__).resolve().parent.parent


def suite_wall_time() -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "tests", "--api", "specstep", "-q",
                           "-p", "no:cacheprovider", "-p", "no:xdist", "--hypothesis-seed=1"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"the suite failed:\n{done.stdout[-2000:]}")
    return elapsed


def one_generation() -> tuple[float, float, int]:
    """(simulated seconds, wall seconds, requests) for one Thorough generation."""
    contract = load_contract(ROOT / "contracts" / "specstep.yaml")
    support = api_support("specstep")
    clock = VirtualClock()
    simulator = support.simulator(clock=clock, seed=7, faults=set())
    trace = Trace()
    client = Client(base_url=support.base_url, api_key=support.api_key, clock=clock,
                    trace=trace, transport=httpx.MockTransport(simulator.handle))
    driver = support.driver(client, contract)
    wall0, sim0 = time.perf_counter(), clock.now()
    intake = driver.intake()
    created = driver.start_generation(intake, "Thorough").json
    final = driver.poll_generation(created["id"])
    driver.download_package(final["package_id"])
    wall, simulated = time.perf_counter() - wall0, clock.now() - sim0
    client.close()
    assert final["state"] == "Complete", final
    return simulated, wall, len(trace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    generations = [one_generation() for _ in range(args.repeat)]
    simulated = generations[0][0]
    wall = statistics.median(g[1] for g in generations)
    suites = [suite_wall_time() for _ in range(args.repeat)]
    print(f"one Thorough generation: {simulated / 60:.1f} simulated min, "
          f"{generations[0][2]} requests, median wall {wall * 1000:.1f} ms "
          f"-> simulated/wall = {simulated / wall:,.0f}x")
    print(f"SpecStep suite (in-process simulator, 1 process): median wall "
          f"{statistics.median(suites):.2f} s over {args.repeat} runs "
          f"(min {min(suites):.2f} s, max {max(suites):.2f} s)")


if __name__ == "__main__":
    main()
