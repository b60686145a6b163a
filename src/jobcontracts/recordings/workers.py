"""Build and judge a long recording's segments in worker processes, in the order they were read.

Segments are independent traces, so a long recording is judged by forked
workers while this process goes on reading. This process only cuts: it
decodes a HAR entry (to find where it ends) or cuts a cassette's
interaction at its `- ` line, reads what cutting segments needs (a page or
trace number, the times) and what depends on the traffic before it (is an
exchange the API's), and sends each segment as its entries' text (`Cut`s).
A worker builds the entries (parsing a cassette's interactions is most of
reading one), the trace, and judges it with `judge_trace`, the very
judgement of a sequential run, handing back every rule's tally.

Results are taken in reading order, so the ledger, the printed failures and
the exit status are those of a sequential run, and an error in a file comes
out after everything read before it (a file's first error in reading order
ends it, as it ends a sequential read). A bounded number of tasks is in
flight, so memory stays flat in the file's length. Workers are forked (they
start with the contract loaded); where the platform cannot fork, nothing is.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.queues
import os
import pickle
import queue
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from ..contract import Contract, Rule
from ..oracles import judge_trace
from ..oracles.judge import RuleOutcome
from .cassette import entry_of
from .har import har_entry_of
from .recorded import Classifier, Cut, Entry, RecordingError, Segment, build_trace
from .yamlstream import RawItem

#: Below this many bytes of recordings, forking workers costs more than it saves.
PARALLEL_FROM_BYTES = 8 << 20
#: Tasks in flight per worker: one being done, the others waiting in its pipe,
#: so that a long segment at the head of the line leaves the other workers work.
_DEPTH = 4
#: A worker's pipe holds this much (Linux's default, 64 KiB, is less than one
#: segment of a few dozen HAR entries, so a send would wait for a busy worker).
_PIPE_BYTES = 1 << 20

Tally = dict[str, tuple[list[int], list[Any], list[Any]]]
Read = tuple[int, Segment | RecordingError]
"""A file's number, and a segment of it or the error that ended it."""
Judged = tuple[int, Segment | None, dict[str, RuleOutcome] | RecordingError]
Item = TypeVar("Item")
Sent = TypeVar("Sent")
Out = TypeVar("Out")


class WorkerError(RuntimeError):
    """A worker died (killed for memory, say) or failed beyond a rule's verdict."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def auto_jobs(total_bytes: int) -> int:
    """The default: every core for a long recording, none spare for a short one."""
    if total_bytes < PARALLEL_FROM_BYTES or not can_fork():
        return 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def judged(read: Iterable[Read], contract: Contract, pool: Pool) -> Iterator[Judged]:
    """Each segment read with its outcomes (or the error building it raised),
    and each error that ended a file, in reading order."""
    rules = {rule.id: rule for rule in contract.rules}

    def send(item: Read) -> tuple[int, Segment | None, int | RecordingError]:
        number, found = item
        if isinstance(found, RecordingError):
            return number, None, found
        return number, found, pool.send("judge", found.size, found.source, [
            (c.segment, c.started_at, c.finished_at, c.where, c.origin, c.payload)
            for c in found.cuts])  # as tuples: a fifth of the pickling

    def take(sent: tuple[int, Segment | None, int | RecordingError]) -> Iterator[Judged]:
        number, segment, task = sent
        if isinstance(task, RecordingError):
            yield number, segment, task
            return
        try:
            yield number, segment, _outcomes(rules, pool.result(task))
        except RecordingError as exc:
            yield number, segment, exc

    return _pipelined(read, pool, send, take)


def _pipelined(items: Iterable[Item], pool: Pool, send: Callable[[Item], Sent],
               take: Callable[[Sent], Iterator[Out]]) -> Iterator[Out]:
    """`take(send(item))` for each item in order, with a few items sent ahead
    so that the workers are never idle."""
    pending: deque[Sent] = deque()
    for item in items:
        pending.append(send(item))
        while len(pending) > _DEPTH * pool.jobs:
            yield from take(pending.popleft())
    while pending:
        yield from take(pending.popleft())


def build(cut: Cut, path: Path) -> Entry:
    """The entry `cut` was cut from, the API's or not as its reader said."""
    return _build(cut.segment, cut.started_at, cut.finished_at, cut.where, cut.origin,
                  cut.payload, path)


def _build(segment: Any, started_at: float, finished_at: float, where: str,
           origin: str | None, payload: Any, path: Path) -> Entry:
    """`build`, from a `Cut`'s fields (as a worker receives them)."""
    if isinstance(payload, Entry):
        entry = payload
    elif isinstance(payload, RawItem):
        entry = entry_of(payload, path)
        if not (_same(entry.started_at, started_at) and _same(
                entry.finished_at, finished_at) and entry.segment == segment
                and entry.origin == origin):
            raise RecordingError(f"{where}: its jobcontracts block reads otherwise "
                                 "parsed whole than cut; verify this file with --jobs 1")
    else:
        entry = har_entry_of(payload, where)
    entry.origin = origin
    return entry


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)  # NaN


def _outcomes(rules: dict[str, Rule], tally: Tally) -> dict[str, RuleOutcome]:
    return {rule_id: RuleOutcome(rules[rule_id], checks_reached=reached,
                                 violations=violations, checks_parts=parts)
            for rule_id, (reached, parts, violations) in tally.items()}


def _judge(contract: Contract, classifier: Classifier, source: str,
           cuts: list[tuple[Any, ...]]) -> Tally:
    path = Path(source)
    trace = build_trace((_build(segment, started, finished, where, origin, payload, path)
                         for segment, started, finished, where, origin, payload in cuts),
                        classifier)
    return {rule_id: (o.checks_reached, o.checks_parts, o.violations)
            for rule_id, o in judge_trace(contract, trace).items()}


_TASKS: dict[str, Callable[..., Any]] = {"judge": _judge}


class Pool:
    """Forked workers, each fed through its own pipe; results come back
    through one queue (each worker's feeder thread writes them, so a worker
    never blocks on a long answer while this process blocks feeding it)."""

    def __init__(self, contract: Contract, classifier: Classifier, jobs: int) -> None:
        context = multiprocessing.get_context("fork")
        self.jobs = jobs
        self._results: multiprocessing.queues.Queue[bytes] = context.Queue()
        self._pipes: list[Connection] = []
        self._workers: list[Any] = []
        for _ in range(jobs):
            receiver, sender = context.Pipe(duplex=False)
            worker = context.Process(target=_work,
                                     args=(contract, classifier, receiver, self._results),
                                     daemon=True, name="jobcontracts-verify")
            worker.start()
            receiver.close()
            _widen(sender)
            self._pipes.append(sender)
            self._workers.append(worker)
        self._sent = 0
        self._done: dict[int, tuple[bool, Any]] = {}
        self._load = [0] * jobs
        self._given: dict[int, tuple[int, int]] = {}

    def send(self, kind: str, size: int, *args: Any) -> int:
        """Queue a task with the worker with the least in hand (tasks' sizes
        vary, often in a pattern that would load one worker of a rotation);
        its index, for `result`."""
        worker = min(range(self.jobs), key=self._load.__getitem__)
        index = self._sent
        try:
            self._pipes[worker].send_bytes(
                pickle.dumps((index, kind, args), protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:  # its end of the pipe is gone
            self._workers[worker].join(timeout=1)
            raise WorkerError(f"a worker died (exit code {self._workers[worker].exitcode})") \
                from None
        self._given[index] = (worker, size)
        self._load[worker] += size
        self._sent += 1
        return index

    def result(self, index: int) -> Any:
        """Task `index`'s result; what it raised is raised here."""
        while index not in self._done:
            try:
                done, ok, value = pickle.loads(self._results.get(timeout=1.0))
            except queue.Empty:
                dead = [w for w in self._workers if not w.is_alive()]
                if dead:
                    raise WorkerError(f"a worker died (exit code {dead[0].exitcode})") \
                        from None
                continue
            self._done[done] = (ok, value)
            worker, size = self._given.pop(done)
            self._load[worker] -= size
        ok, value = self._done.pop(index)
        if not ok:
            raise value
        return value

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, failed: type[BaseException] | None, *exc: object) -> None:
        """Workers end when their pipe does; on an error (or Ctrl-C) at once,
        with whatever they had in hand."""
        for pipe in self._pipes:
            if failed is None:
                with contextlib.suppress(OSError):
                    pipe.send_bytes(b"")
            pipe.close()
        for worker in self._workers:
            if failed is None:
                worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
            worker.join()
        self._results.close()


def _widen(pipe: Connection) -> None:
    """Give `pipe` room for `_PIPE_BYTES`, where the platform allows it (Linux;
    a limit lower than that leaves it as it was)."""
    if sys.platform == "linux":
        import fcntl

        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def open_pool(contract: Contract, classifier: Classifier,
              jobs: int) -> contextlib.AbstractContextManager[Pool | None]:
    """A pool of `jobs` workers, or None (work is done here) for one job."""
    if jobs <= 1 or not can_fork():
        return contextlib.nullcontext()
    return Pool(contract, classifier, jobs)


def _work(contract: Contract, classifier: Classifier, tasks: Connection,
          results: multiprocessing.queues.Queue[bytes]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the reader, which stops us
    gc.freeze()  # what the fork brought lives as long as we do: no collection rescans it
    while True:
        try:
            task = tasks.recv_bytes()
        except EOFError:
            return
        if not task:
            return
        index, kind, args = pickle.loads(task)
        try:
            answer = pickle.dumps((index, True, _TASKS[kind](contract, classifier, *args)),
                                  protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a RecordingError, say: raised where the result is taken
            try:
                answer = pickle.dumps((index, False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that cannot travel
                answer = pickle.dumps((index, False, WorkerError(
                    f"{kind} failed: {type(exc).__name__}: {exc}")))
        results.put(answer)
