"""The embedded simulator a load run targets, served in a process of its own.

`python -m jobcontracts.load.server API --port P --speed S --epoch E` serves
the API's simulator on 127.0.0.1:P on the run's `SharedClock`, with any
ordinary faults inside the simulator and any load-only fault
(`racing.py`) in front of it, and prints one line, `ready`, once it listens.
It stays out of the Locust processes: gevent's monkey patching and the
load generator's CPU are theirs, the simulator's threadpool its own.

For POS and the Interrogation Agent, whose reference variant has no rate
limiter, it adds one (a choice their variants make too), so that a load run
meets a limiter on every API; for the jobs API, whose reference limiter holds
40 requests (more than a burst), a smaller one, as for the others.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import uvicorn

from ..apis import api_support
from ..serve import SimulatorApp
from .clock import SharedClock
from .racing import InFlight, RacingSimulator, load_faults

#: Capacity and refill per (simulated) second of the limiter a load run adds.
RATE_LIMITS: dict[str, tuple[float, float]] = {"pos": (12.0, 4.0), "interrogation": (12.0, 4.0),
                                               "jobs": (12.0, 4.0)}


class CountingApp:
    """The ASGI app, counting the HTTP requests in flight (for the load faults)."""

    def __init__(self, app: Any, in_flight: InFlight) -> None:
        self.app, self.in_flight = app, in_flight

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight.leave()


def make_load_simulator(api: str, *, speed: float, epoch: float, faults: list[str],
                        seed: int = 0, variant: int = 0,
                        in_flight: InFlight | None = None) -> Any:
    support = api_support(api)
    racing = [f for f in faults if f in load_faults(api)]
    ordinary = [f for f in faults if f not in racing]
    extra: dict[str, Any] = {}
    if api in RATE_LIMITS and not variant:
        extra["rate_limit"] = RATE_LIMITS[api]
    simulator = support.simulator(clock=SharedClock(speed, epoch), seed=seed,
                                  faults=set(ordinary), api_keys=(support.api_key,),
                                  variant=variant, **extra)
    return RacingSimulator(simulator, api, racing, in_flight) if racing else simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobcontracts.load.server")
    parser.add_argument("api")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--epoch", type=float, required=True)
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", type=int, default=0)
    args = parser.parse_args(argv)
    in_flight = InFlight()
    app = CountingApp(SimulatorApp(make_load_simulator(
        args.api, speed=args.speed, epoch=args.epoch, faults=args.fault, seed=args.seed,
        variant=args.variant, in_flight=in_flight)), in_flight)
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                            lifespan="off", limit_concurrency=None, backlog=2048,
                            # An idle connection closed just as a client reuses it is
                            # reset mid-request: keep them open longer than any pause.
                            timeout_keep_alive=300)
    server = uvicorn.Server(config)

    async def announce() -> None:
        print("ready", flush=True)

    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets)
        await announce()

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
