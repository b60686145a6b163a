"""Judge a recording's segments in worker processes, in the order they were read.

Segments are independent traces, so a long recording is judged by a pool of
forked workers while this process goes on reading: each worker judges one
segment at a time with `judge_trace`, the very judgement of a sequential
run, and hands back every rule's tally (what each check reached and covered,
and the violations). Results come back in reading order, so the ledger, the
printed failures and the exit status are those of a sequential run. At most
twice `jobs` segments are in flight, so memory stays flat in the file's length.

Workers are forked (they start with the contract already loaded); where the
platform cannot fork, or with one job, segments are judged here.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.queues
import os
import pickle
import queue
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from ..contract import Contract, Rule
from ..oracles import judge_trace
from ..oracles.judge import RuleOutcome
from ..trace import Trace
from .recorded import Segment

#: Below this many bytes of recordings, forking workers costs more than it saves.
PARALLEL_FROM_BYTES = 8 << 20

Tally = dict[str, tuple[list[int], list[Any], list[Any]]]


class WorkerError(RuntimeError):
    """A worker died (killed for memory, say) or could not judge a segment."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def auto_jobs(total_bytes: int) -> int:
    """The default: every core for a long recording, none spare for a short one."""
    if total_bytes < PARALLEL_FROM_BYTES or not can_fork():
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


def judged(segments: Iterable[Segment], contract: Contract,
           jobs: int = 1) -> Iterator[tuple[Segment, dict[str, RuleOutcome]]]:
    """Each segment with its outcomes, in order; judged by `jobs` workers.

    An exception raised by `segments` (a file that stops making sense) comes
    out after the segments read before it have been judged and yielded."""
    if jobs <= 1 or not can_fork():
        for segment in segments:
            yield segment, judge_trace(contract, segment.trace)
        return
    rules = {rule.id: rule for rule in contract.rules}
    with _Pool(contract, jobs) as pool:
        pending: deque[Segment] = deque()
        failure: Exception | None = None
        reading = iter(segments)
        while True:
            try:
                segment = next(reading)
            except StopIteration:
                break
            except Exception as exc:  # re-raised once what was read before it is judged
                failure = exc
                break
            pool.send(segment.trace)
            pending.append(segment)
            if len(pending) >= _DEPTH * jobs:
                yield _outcomes(rules, pending.popleft(), pool.next_result())
        while pending:
            yield _outcomes(rules, pending.popleft(), pool.next_result())
        if failure is not None:
            raise failure


#: Segments in flight per worker: one being judged, one waiting in its pipe.
_DEPTH = 2


class _Pool:
    """Forked workers, each fed through its own pipe; results come
    back through one queue (each worker's feeder thread writes them, so a
    worker never blocks on a long answer while this process blocks on it)."""

    def __init__(self, contract: Contract, jobs: int) -> None:
        context = multiprocessing.get_context("fork")
        self._results: multiprocessing.queues.Queue[tuple[int, Tally | str]] = context.Queue()
        self._pipes = []
        self._workers = []
        for _ in range(jobs):
            receiver, sender = context.Pipe(duplex=False)
            worker = context.Process(target=_work, args=(contract, receiver, self._results),
                                     daemon=True, name="jobcontracts-judge")
            worker.start()
            receiver.close()
            self._pipes.append(sender)
            self._workers.append(worker)
        self._sent = 0
        self._next = 0
        self._early: dict[int, Tally | str] = {}
        self._load = [0] * jobs
        self._given: dict[int, tuple[int, int]] = {}

    def send(self, trace: Trace) -> None:
        """To the worker with the fewest exchanges in hand (segments' lengths
        vary, often in a pattern that would load one worker of a rotation)."""
        worker = min(range(len(self._pipes)), key=self._load.__getitem__)
        self._pipes[worker].send_bytes(
            pickle.dumps((self._sent, trace), protocol=pickle.HIGHEST_PROTOCOL))
        self._given[self._sent] = (worker, len(trace))
        self._load[worker] += len(trace)
        self._sent += 1

    def next_result(self) -> Tally:
        """The tally of the oldest segment not yet returned."""
        while self._next not in self._early:
            try:
                index, tally = self._results.get(timeout=1.0)
            except queue.Empty:
                dead = [w for w in self._workers if not w.is_alive()]
                if dead:
                    raise WorkerError(f"a judging worker died (exit code {dead[0].exitcode})") \
                        from None
                continue
            self._early[index] = tally
            worker, size = self._given.pop(index)
            self._load[worker] -= size
        found = self._early.pop(self._next)
        self._next += 1
        if isinstance(found, str):
            raise WorkerError(f"a judging worker failed: {found}")
        return found

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send_bytes(b"")
            pipe.close()
        for worker in self._workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join()
        self._results.close()


def _work(contract: Contract, tasks: Connection,
          results: multiprocessing.queues.Queue[tuple[int, Tally | str]]) -> None:
    while True:
        try:
            task = tasks.recv_bytes()
        except EOFError:
            return
        if not task:
            return
        index, trace = pickle.loads(task)
        try:
            tally: Tally | str = {
                rule_id: (o.checks_reached, o.checks_parts, o.violations)
                for rule_id, o in judge_trace(contract, trace).items()}
        except Exception as exc:  # judge_trace reports an oracle's own errors; this is worse
            tally = f"{type(exc).__name__}: {exc}"
        results.put((index, tally))


def _outcomes(rules: dict[str, Rule], segment: Segment,
              tally: Tally) -> tuple[Segment, dict[str, RuleOutcome]]:
    return segment, {rule_id: RuleOutcome(rules[rule_id], checks_reached=reached,
                                          violations=violations, checks_parts=parts)
                     for rule_id, (reached, parts, violations) in tally.items()}
