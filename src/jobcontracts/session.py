"""One test's connection to one API: target, clock, client, trace, driver.

Against the embedded simulator each `example()` gets a fresh simulator on a
fresh virtual clock, so hypothesis examples are independent and shrink
cleanly; against a live server they share the server and get a fresh trace.
Every trace is judged by every rule of the contract when it closes.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from .budget import Allowance
from .client import Client
from .clock import Clock, RealClock, VirtualClock
from .contract import Contract
from .oracles import Violation, judge_trace
from .oracles.judge import RuleOutcome
from .progress import NO_PROGRESS, Progress
from .recordings.replay import CassetteReplay
from .recordings.scrub import Scrubber
from .trace import Trace
from .websocket import simulator_transport


@dataclass(frozen=True)
class Target:
    """Where an API's traffic goes: the embedded simulator or a live URL."""

    api: str
    kind: str  # "simulator" | "live" | "replay"
    base_url: str
    api_key: str
    fault: str | None = None
    variant: int = 0
    """For the simulator: which lawful server it plays (`sims/variant.py`)."""
    replay_of: str | None = None
    """For a replay: the kind of target the cassettes were recorded from."""

    @property
    def live(self) -> bool:
        """Traffic shaped for a live server (budgets, few polls), even when replayed."""
        return self.kind == "live" or self.replay_of == "live"

    def describe(self) -> str:
        if self.kind == "replay":
            return f"{self.api}: replay of cassettes recorded from {self.replay_of} " \
                   f"{self.base_url}"
        if self.kind == "live":
            return f"{self.api}: live server {self.base_url}"
        fault = f" with fault {self.fault!r}" if self.fault else " (conforming)"
        variant = f", variant {self.variant}" if self.variant else ""
        return f"{self.api}: embedded simulator{fault}{variant}"


@dataclass(frozen=True)
class RunOptions:
    """What the user set for this run (live defaults are cautious)."""

    generations: Allowance
    requests: Allowance
    rate_limit_probe: int
    poll_interval: float | None = None
    deadline: float | None = None
    timeout: float = 30.0
    progress: Progress = NO_PROGRESS
    """Where drivers report the jobs they wait on (`progress.py`)."""


def unlimited() -> RunOptions:
    return RunOptions(Allowance("paid operations", None, None, ""),
                      Allowance("requests", None, None, ""), rate_limit_probe=60)


class ContractFailure(AssertionError):
    """Raised when a trace breaks rules; its message is the bug report (scrubbed:
    it ends up in JUnit XML and CI logs)."""

    def __init__(self, violations: list[Violation], reproduce: str,
                 scrub: Scrubber | None = None) -> None:
        self.violations = violations
        shown = violations[:5]
        text = "\n".join(v.render() for v in shown)
        if scrub is not None:
            text = scrub.text(text)
        if len(violations) > len(shown):
            text += f"\n… and {len(violations) - len(shown)} more violation(s)"
        super().__init__(f"{text}\n  reproduce: {reproduce}")


class ScenarioError(Exception):
    """The server's answer left a scenario unable to go on (judged like a violation)."""


class InputRefused(Exception):
    """The server lawfully refused (`400`/`422`) an input the scenario generated
    and no document rules on (an empty or odd message): the scenario ends
    there, its traffic judged like any other, and the test does not fail."""


Recorder = Callable[[dict[str, RuleOutcome]], None]


class ApiRun:
    def __init__(self, contract: Contract, target: Target, *, seed: int, reproduce: str,
                 record: Recorder, driver_factory: Callable[[Client, Contract], Any],
                 simulator_factory: Callable[..., Any] | None = None,
                 options: RunOptions | None = None, replay: CassetteReplay | None = None,
                 keep_traces: bool = False) -> None:
        self.contract, self.target, self.seed = contract, target, seed
        self.reproduce, self._record = reproduce, record
        self._driver_factory, self._simulator_factory = driver_factory, simulator_factory
        self.options = options or unlimited()
        self.replay, self.keep_traces = replay, keep_traces
        self.scrub = Scrubber([target.api_key])
        self._examples = 0
        self._unknown = 0
        self.traces: list[Trace] = []
        """Every trace of the run, oldest first, when `keep_traces` (for --record)."""
        self.trace = Trace()
        self.clock: Clock = RealClock()
        self.simulator: Any = None
        self._open()

    def _open(self) -> None:
        self.trace = Trace()
        self.options.progress.restart()
        if self.keep_traces:
            self.traces = [t for t in self.traces if len(t)] + [self.trace]
        self._judged_upto = 0
        transport: httpx.BaseTransport | None = None
        if self.replay is not None:
            clock = VirtualClock()
            self.clock = clock
            transport = self.replay.next_transport(clock, self.scrub)
        elif self.target.kind == "simulator":
            assert self._simulator_factory is not None
            self.clock = VirtualClock()
            faults = {self.target.fault} if self.target.fault else set()
            # The same for every example of a test, so hypothesis replays are exact.
            seed = random.Random(f"{self.seed}:{self.reproduce}").randrange(2**32)
            self.simulator = self._simulator_factory(clock=self.clock, seed=seed, faults=faults,
                                                     variant=self.target.variant)
            transport = simulator_transport(self.simulator)
        self.client = Client(base_url=self.target.base_url, api_key=self.target.api_key,
                             clock=self.clock, trace=self.trace, transport=transport,
                             auth_header=self.contract.target.auth_header
                             if self.contract.target.authenticated else None,
                             auth_scheme=self.contract.target.auth_scheme,
                             max_429_tries=int(self.contract.settings.get(
                                 "rate_limit_max_tries", 5)),
                             max_429_wait=self._deadline(),
                             timeout=self.options.timeout,
                             requests=self.options.requests if self.live else None)
        self.driver = self._driver_factory(self.client, self.contract)
        self.driver.configure(self.options)

    def _deadline(self) -> float:
        """The longest any one wait of this run may last (`--live-deadline`, else
        the contract's `deadline_seconds`): it bounds the waits for a 429 too."""
        if self.options.deadline is not None:
            return self.options.deadline
        return float(self.contract.settings.get("deadline_seconds", 2700))

    @property
    def live(self) -> bool:
        return self.target.live

    def unknown_id(self) -> str:
        """A UUID no server has minted, the same on every run with this seed, so
        that a recorded run replays request for request."""
        self._unknown += 1
        rng = random.Random(f"unknown-id:{self.seed}:{self._unknown}")
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def require_simulator(self, why: str) -> None:
        """Skip against a live server: this test would spend what a live run must not."""
        if self.live:
            import pytest

            pytest.skip(f"live target: {why}")

    @property
    def pending(self) -> bool:
        """Is there traffic that no judgement has seen yet?"""
        return len(self.trace) > self._judged_upto

    def judge(self) -> list[Violation]:
        """Judge the current trace, record the outcome, and return its violations."""
        self._judged_upto = len(self.trace)
        outcomes = judge_trace(self.contract, self.trace)
        self._record(outcomes)
        return [v for o in outcomes.values() for v in o.violations]

    def check(self, cause: BaseException | None = None) -> None:
        """Judge the current trace and raise `ContractFailure` on any violation."""
        violations = self.judge()
        if violations:
            raise ContractFailure(violations, self.reproduce, self.scrub) from cause

    @contextmanager
    def example(self) -> Iterator[ApiRun]:
        """A fresh trace (and simulator) for one hypothesis example, judged at exit."""
        self._examples += 1
        self.client.close()
        self._open()
        try:
            yield self
        except ScenarioError as exc:
            self.check(cause=exc)
            raise
        except InputRefused:
            pass
        self.check()

    def close(self) -> None:
        self.client.close()
