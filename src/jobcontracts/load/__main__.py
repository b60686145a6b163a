"""`python -m jobcontracts.load`: one Locust process of a load run (local
runner, master or worker). `jobcontracts load` starts it with the run's
`LoadConfig` in `JOBCONTRACTS_LOAD_CONFIG`; Locust (and with it gevent's
monkey patching) is imported first thing, before anything opens a socket."""

from __future__ import annotations

import argparse
import sys

import locust  # noqa: F401  (gevent's monkey patching, before anything else)

from .config import LoadConfig
from .run import Plan, drive, worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobcontracts.load")
    parser.add_argument("--role", choices=("local", "master", "worker"), default="local")
    parser.add_argument("--users", type=int, default=1)
    parser.add_argument("--spawn-rate", type=float, default=1.0)
    parser.add_argument("--run-time", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=0)
    parser.add_argument("--master-host", default="127.0.0.1")
    parser.add_argument("--master-port", type=int, default=5557)
    parser.add_argument("--expect-workers", type=int, default=0)
    parser.add_argument("--report", default=None)
    args = parser.parse_args(argv)
    config = LoadConfig.from_env()
    if config is None:
        print("python -m jobcontracts.load: no run configuration; use `jobcontracts load`",
              file=sys.stderr)
        return 2
    plan = Plan(users=args.users, spawn_rate=args.spawn_rate, run_time=args.run_time,
                processes=args.processes, role=args.role, master_host=args.master_host,
                master_port=args.master_port, expect_workers=args.expect_workers,
                report=args.report)
    if args.role == "worker":
        return worker(config, plan)
    return drive(config, plan)


if __name__ == "__main__":
    sys.exit(main())
