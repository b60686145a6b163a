"""Read and judge a long recording in worker processes, in the order it was read.

Segments are independent traces, so a long recording is judged by forked
workers while this process goes on reading: each worker judges one segment
at a time with `judge_trace`, the very judgement of a sequential run, and
hands back every rule's tally (what each check reached and covered, and the
violations). The workers also parse a cassette's interactions, in batches of
their text as this process cuts it (parsing is most of a cassette's reading
cost); this process keeps what depends on the order of the traffic: cutting
segments, telling the API's exchanges from the rest.

Results are taken in reading order, so the ledger, the printed failures and
the exit status are those of a sequential run, and an error in a file comes
out after everything read before it. A bounded number of tasks is in flight,
so memory stays flat in the file's length. Workers are forked (they start
with the contract loaded); where the platform cannot fork, nothing is.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.queues
import os
import pickle
import queue
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from ..contract import Contract, Rule
from ..oracles import judge_trace
from ..oracles.judge import RuleOutcome
from ..trace import Trace
from .cassette import entry_of
from .recorded import Entry, RecordingError, Segment
from .yamlstream import RawItem

#: Below this many bytes of recordings, forking workers costs more than it saves.
PARALLEL_FROM_BYTES = 8 << 20
#: Tasks in flight per worker and per kind: one being done, one in its pipe.
_DEPTH = 2
#: Interactions parsed per task (a task's overhead is paid once per batch).
_BATCH = 200

Tally = dict[str, tuple[list[int], list[Any], list[Any]]]
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


def judged(segments: Iterable[Segment], contract: Contract,
           pool: Pool | None) -> Iterator[tuple[Segment, dict[str, RuleOutcome]]]:
    """Each segment with its outcomes, in order (judged by `pool`'s workers,
    or here). An exception raised by `segments` comes out after the segments
    read before it have been judged and yielded."""
    if pool is None:
        for segment in segments:
            yield segment, judge_trace(contract, segment.trace)
        return
    rules = {rule.id: rule for rule in contract.rules}
    yield from _pipelined(
        segments, pool,
        lambda segment: (segment, pool.send("judge", len(segment.trace), segment.trace)),
        lambda sent: iter([_outcomes(rules, *sent, pool)]))


def entries(items: Iterable[Entry | RawItem], path: Path, pool: Pool) -> Iterator[Entry]:
    """Entries in order, the raw interactions among `items` parsed by the
    workers `_BATCH` at a time."""
    def send(batch: Entry | list[RawItem]) -> Entry | int:
        return batch if isinstance(batch, Entry) else pool.send("parse", len(batch), batch, path)

    return _pipelined(_batches(items), pool, send, lambda sent: _entries(sent, pool))


def _pipelined(items: Iterable[Item], pool: Pool, send: Callable[[Item], Sent],
               take: Callable[[Sent], Iterator[Out]]) -> Iterator[Out]:
    """`take(send(item))` for each item in order, with a few items sent ahead
    so that the workers are never idle; an exception raised by `items` comes
    out once everything read before it is taken."""
    pending: deque[Sent] = deque()
    failure: Exception | None = None
    reading = iter(items)
    while True:
        try:
            item = next(reading)
        except StopIteration:
            break
        except Exception as exc:  # raised in its turn, below
            failure = exc
            break
        pending.append(send(item))
        while len(pending) > _DEPTH * pool.jobs:
            yield from take(pending.popleft())
    while pending:
        yield from take(pending.popleft())
    if failure is not None:
        raise failure


def _batches(items: Iterable[Entry | RawItem]) -> Iterator[Entry | list[RawItem]]:
    """Runs of up to `_BATCH` raw interactions, and the entries read here (the
    first), in order; the run before an exception is yielded before it."""
    batch: list[RawItem] = []
    try:
        for item in items:
            if isinstance(item, RawItem):
                batch.append(item)
                if len(batch) == _BATCH:
                    yield batch
                    batch = []
                continue
            if batch:
                yield batch
                batch = []
            yield item
    except Exception:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _entries(found: Entry | int, pool: Pool) -> Iterator[Entry]:
    """What was read here, or what a worker parsed (up to the interaction that
    could not be read, which raises after them, as a sequential read would)."""
    if isinstance(found, Entry):
        yield found
        return
    parsed, failure = pool.result(found)
    yield from parsed
    if failure is not None:
        raise failure


def _outcomes(rules: dict[str, Rule], segment: Segment, index: int,
              pool: Pool) -> tuple[Segment, dict[str, RuleOutcome]]:
    tally: Tally = pool.result(index)
    return segment, {rule_id: RuleOutcome(rules[rule_id], checks_reached=reached,
                                          violations=violations, checks_parts=parts)
                     for rule_id, (reached, parts, violations) in tally.items()}


def _judge(contract: Contract, trace: Trace) -> Tally:
    return {rule_id: (o.checks_reached, o.checks_parts, o.violations)
            for rule_id, o in judge_trace(contract, trace).items()}


def _parse(contract: Contract, batch: list[RawItem],
           path: Path) -> tuple[list[Entry], RecordingError | None]:
    """The batch's entries, up to the first that cannot be read, and why."""
    found: list[Entry] = []
    for raw in batch:
        try:
            found.append(entry_of(raw, path))
        except RecordingError as exc:
            return found, exc
    return found, None


_TASKS: dict[str, Callable[..., Any]] = {"judge": _judge, "parse": _parse}


class Pool:
    """Forked workers, each fed through its own pipe; results come back
    through one queue (each worker's feeder thread writes them, so a worker
    never blocks on a long answer while this process blocks feeding it)."""

    def __init__(self, contract: Contract, jobs: int) -> None:
        context = multiprocessing.get_context("fork")
        self.jobs = jobs
        self._results: multiprocessing.queues.Queue[bytes] = context.Queue()
        self._pipes: list[Connection] = []
        self._workers: list[Any] = []
        for _ in range(jobs):
            receiver, sender = context.Pipe(duplex=False)
            worker = context.Process(target=_work, args=(contract, receiver, self._results),
                                     daemon=True, name="jobcontracts-verify")
            worker.start()
            receiver.close()
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


def open_pool(contract: Contract, jobs: int) -> contextlib.AbstractContextManager[Pool | None]:
    """A pool of `jobs` workers, or None (work is done here) for one job."""
    if jobs <= 1 or not can_fork():
        return contextlib.nullcontext()
    return Pool(contract, jobs)


def _work(contract: Contract, tasks: Connection,
          results: multiprocessing.queues.Queue[bytes]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the reader, which stops us
    while True:
        try:
            task = tasks.recv_bytes()
        except EOFError:
            return
        if not task:
            return
        index, kind, args = pickle.loads(task)
        try:
            answer = pickle.dumps((index, True, _TASKS[kind](contract, *args)),
                                  protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a RecordingError, say: raised where the result is taken
            try:
                answer = pickle.dumps((index, False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that cannot travel
                answer = pickle.dumps((index, False, WorkerError(
                    f"{kind} failed: {type(exc).__name__}: {exc}")))
        results.put(answer)
