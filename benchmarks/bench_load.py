"""Requests per second sustained by `jobcontracts load` (recording, shipping to
the master, judging) against bare Locust on the same target, in one run.

Both sides run the same unpaced, free workload (`throughput`: create an
interview, read it, again and again) with the same users for the same time,
one Locust process each, against one served SpecStep simulator (at a speed
whose rate limiter lets it all through). The bare side is Locust's own
`HttpUser`, nothing recorded or judged; the other is `jobcontracts load
--setting scenarios=[throughput]`, whose figure counts the judging time as
well (`with judging`): what a CI job pays. Prints both and their ratio.

    python benchmarks/bench_load.py [--users 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from jobcontracts.load.config import CONFIG_ENV, LoadConfig
from jobcontracts.serve import free_port
from jobcontracts.sims.specstep import DEFAULT_API_KEY

#: Fast enough that the simulator's 2-per-second token bucket refills faster
#: than both sides can ask.
SPEED = 20000.0

BARE = textwrap.dedent('''
    import sys, time
    import gevent
    from locust import HttpUser, task, constant
    from locust.env import Environment

    BASE, KEY, USERS, SECONDS = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

    class Bare(HttpUser):
        host = BASE
        wait_time = constant(0)

        @task
        def throughput(self):
            head = {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}
            for _ in range(10):
                made = self.client.post("/v1/interviews", headers=head, name="create_interview")
                if made.status_code == 201:
                    self.client.get(f"/v1/interviews/{made.json()['id']}", headers=head,
                                    name="get_interview")

    env = Environment(user_classes=[Bare])
    runner = env.create_local_runner()
    started = time.monotonic()
    runner.start(USERS, USERS)
    gevent.sleep(SECONDS)
    runner.quit()
    wall = time.monotonic() - started
    print(env.stats.total.num_requests / wall)
''')


def serve(epoch: float) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jobcontracts.load.server", "specstep", "--port", str(port),
         "--speed", str(SPEED), "--epoch", repr(epoch)], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    return server, f"http://127.0.0.1:{port}"


def bare(url: str, users: int, seconds: float) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(BARE)
    try:
        out = subprocess.run([sys.executable, script.name, url, DEFAULT_API_KEY, str(users),
                              str(seconds)], capture_output=True, text=True, check=True)
    finally:
        os.unlink(script.name)
    return float(out.stdout.strip().splitlines()[-1])


def judged(url: str, epoch: float, users: int, seconds: float) -> tuple[float, float, str]:
    """(requests/s over the run, requests/s counting the judging, the rules' summary)."""
    config = LoadConfig("specstep", url, DEFAULT_API_KEY, False, speed=SPEED, epoch=epoch,
                        settings={"scenarios": ["throughput"]})
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "load.json"
        done = subprocess.run(
            [sys.executable, "-m", "jobcontracts.load", "--users", str(users), "--spawn-rate",
             str(users), "--run-time", str(seconds), "--report", str(report)],
            env={**os.environ, CONFIG_ENV: config.to_env()}, capture_output=True, text=True)
        if not report.is_file():
            raise SystemExit(done.stdout[-2000:] + done.stderr[-2000:])
        load = json.loads(report.read_text(encoding="utf-8"))["load"]
    summary = next((line for line in done.stdout.splitlines() if line.startswith("rules:")), "")
    with_judging = load["requests"] / (load["wall_s"] + load["judge_s"])
    return load["requests_per_second"], with_judging, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    epoch = time.time()
    server, url = serve(epoch)
    try:
        base = bare(url, args.users, args.seconds)
        rate, with_judging, summary = judged(url, epoch, args.users, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"bare Locust HttpUser:            {base:8.1f} requests/s")
    print(f"jobcontracts load (recording):   {rate:8.1f} requests/s  ratio {rate / base:.2f}")
    print(f"jobcontracts load (+ judging):   {with_judging:8.1f} requests/s  "
          f"ratio {with_judging / base:.2f}   ({summary})")


if __name__ == "__main__":
    main()
