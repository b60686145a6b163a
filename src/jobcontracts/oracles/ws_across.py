"""WebSocket event-stream rule kinds that read more than one exchange: a
stream against the job's polls, and a connection resumed with `after_seq`
against another connection of the same job.

See `ws_events` for how connections are read and how they end.
"""

from __future__ import annotations

from itertools import pairwise

from ..trace import Exchange, Trace, lookup
from .context import Context, Observation, json_equal
from .registry import Verdict, rule_kind
from .ws_events import Connection, WsEvent, WsParams, connections, first, short

# ---- JOB-EVT-3: the stream agrees with the job ------------------------------------


class WsAgreesWithJob(WsParams):
    record: str
    """The job's record (its `GET`), keyed by `key_param`'s value."""
    status_field: str = "status"
    in_progress: list[str] = []
    """Statuses a poll just after the terminal event may still show (a race,
    not a disagreement): the first later poll not in them is compared."""
    event_status_key: str = "data.status"
    terminal_status: dict[str, str] = {}
    """Terminal type → the status it means when the event names none."""
    slot_event: str = "slot_needed"
    slot_key: str = "data.slot_id"
    pending_field: str = "pending_slots"
    pending_id: str = "slot_id"
    filled_field: str = "filled_slots"
    progress_event: str = "progress"
    progress_key: str = "data.progress"
    pairs: dict[str, str] = {"tool_finished": "tool_started",
                             "agent_step_finished": "agent_step_started"}
    """Closing type → the opening type it must follow, with the same `pair_key`."""
    pair_key: str = "data.call_id"
    follows: dict[str, str] = {"agent_text_done": "agent_text"}
    """Type → the type that must come since the previous one of it (no key)."""


@rule_kind("ws_agrees_with_job", WsAgreesWithJob)
def ws_agrees_with_job(trace: Trace, p: WsAgreesWithJob, ctx: Context,
                       verdict: Verdict) -> None:
    """Each `slot_event` names a slot the job's polls show (pending, or filled),
    judged once a poll has shown the job's slots; `progress_key` never goes
    down along a stream; the terminal event's status is what the first later
    poll shows; on a full stream each closing event follows its opening one
    (same `pair_key`), and each `follows` type comes after its lead."""
    records = ctx.records(p.record)
    for conn in connections(ctx, p):
        key = conn.params.get(p.key_param)
        polls = records.get(key, []) if key is not None else []
        wrong = _slots(conn, p, polls) + _progress(conn, p)
        if not conn.resumed:
            wrong += _pairs(conn, p)
        later = _status(conn, p, polls)
        for why in wrong:
            verdict.violate(why, conn.exchange)
        if later is not None:
            why, poll = later
            verdict.violate(why, conn.exchange, poll, fields=(p.status_field,))
        if not wrong and later is None and (conn.events or polls):
            verdict.judged()


def _slots(conn: Connection, p: WsAgreesWithJob, polls: list[Observation]) -> list[str]:
    known: set[str] = set()
    shown = False
    for poll in polls:
        pending = lookup(poll.body, p.pending_field)
        if isinstance(pending, list) and pending:
            shown = True
            known.update(slot for s in pending
                         if isinstance(s, dict) and isinstance(slot := s.get(p.pending_id), str))
        filled = lookup(poll.body, p.filled_field)
        if isinstance(filled, dict):
            shown = shown or bool(filled)
            known.update(str(k) for k in filled)
    if not shown:
        return []
    strays = [f"{slot!r} in {e.label()}" for e in conn.events if e.type == p.slot_event
              and (slot := e.get(p.slot_key)) not in known]
    return [first(strays, f"{p.slot_event} names a slot the job never showed "
                   f"(its slots: {sorted(known)})")] if strays else []


def _progress(conn: Connection, p: WsAgreesWithJob) -> list[str]:
    values = [(e, v) for e in conn.events if e.type == p.progress_event
              and isinstance(v := e.get(p.progress_key), int | float) and not isinstance(v, bool)]
    down = next(((a, b) for a, b in pairwise(values) if b[1] < a[1]), None)
    if down is None:
        return []
    return [f"{p.progress_key} goes down from {down[0][1]!r} ({down[0][0].label()}) to "
            f"{down[1][1]!r} ({down[1][0].label()})"]


def _pairs(conn: Connection, p: WsAgreesWithJob) -> list[str]:
    wrong: list[str] = []
    opened: dict[str, set[str]] = {}
    since: dict[str, bool] = {}
    leads = set(p.follows.values())
    for event in conn.events:
        if event.type in p.pairs.values():
            opened.setdefault(event.type or "", set()).add(repr(event.get(p.pair_key)))
        if event.type in p.pairs:
            opener = p.pairs[event.type or ""]
            if repr(event.get(p.pair_key)) not in opened.get(opener, set()):
                wrong.append(f"{event.label()} with {p.pair_key}="
                             f"{short(event.get(p.pair_key))} follows no {opener} with it")
        if event.type in p.follows:
            lead = p.follows[event.type or ""]
            if not since.get(lead):
                wrong.append(f"{event.label()} does not follow a {lead}")
            since[lead] = False
        if event.type in leads:
            since[event.type or ""] = True
    return [first(wrong, "out of order")] if wrong else []


def _status(conn: Connection, p: WsAgreesWithJob,
            polls: list[Observation]) -> tuple[str, Exchange] | None:
    terminal = next((e for e in conn.events if p.is_terminal(e)), None)
    if terminal is None:
        return None
    said = terminal.get(p.event_status_key)
    if not isinstance(said, str):
        said = p.terminal_status.get(terminal.type or "")
    if said is None:
        return None
    later = next((o for o in polls if o.seq > conn.exchange.seq
                  and lookup(o.body, p.status_field) not in p.in_progress), None)
    if later is None:
        return None
    status = lookup(later.body, p.status_field)
    if json_equal(status, said):
        return None
    return (f"{terminal.label()} says {said!r}, the job's next poll says "
            f"{p.status_field}={short(status)}", later.exchange)


# ---- JOB-EVT-4: resuming with after_seq -------------------------------------------


class WsResumption(WsParams):
    unsequenced: list[str] = ["keepalive"]
    """Types left out of the comparison (sent per connection)."""
    compare: list[str] = ["type", "data"]
    """Event keys compared, with `seq` (a re-sent event may be re-stamped)."""


@rule_kind("ws_resumption", WsResumption)
def ws_resumption(trace: Trace, p: WsResumption, ctx: Context, verdict: Verdict) -> None:
    """A connection opened with `resume_param=N` delivers exactly the events
    after `N` that another connection of the same job saw from before `N`:
    none at or before `N`, none repeated, none missing, within the seqs both
    covered (up to the last one read, for a stream the client stopped)."""
    every = list(connections(ctx, p))
    for resumed in every:
        key = resumed.params.get(p.key_param)
        if resumed.after is None or key is None:
            continue
        got = _sequenced(resumed, p)
        early = [e for e in got if e.seq is not None and e.seq <= resumed.after]
        reference = _reference(every, resumed, p)
        if reference is not None and not (_ordered(got) and _ordered(_sequenced(reference, p))):
            reference = None  # a seq out of order is the seq rule's; nothing aligns them
        wrong = [first([e.label() for e in early],
                        f"resumed after {resumed.after} but re-sent")] if early else []
        if reference is not None:
            problem = _difference(resumed, reference, p)
            if problem:
                wrong.append(f"resumed after {resumed.after}: {problem}")
        for why in wrong:
            verdict.violate(why, resumed.exchange,
                            *(() if reference is None else (reference.exchange,)))
        if not wrong and reference is not None:
            verdict.judged()


def _sequenced(conn: Connection, p: WsResumption) -> list[WsEvent]:
    return [e for e in conn.events if e.type not in p.unsequenced and e.seq is not None]


def _ordered(events: list[WsEvent]) -> bool:
    seqs = [e.seq for e in events if e.seq is not None]
    return all(a < b for a, b in pairwise(seqs))


def _reference(every: list[Connection], resumed: Connection,
               p: WsResumption) -> Connection | None:
    """Another connection of the job that started at or before `N` and read
    past it; one the server closed first."""
    assert resumed.after is not None
    key = resumed.params.get(p.key_param)
    usable = [c for c in every if c is not resumed and c.params.get(p.key_param) == key
              and (not c.resumed or (c.after is not None and c.after <= resumed.after))
              and any(e.seq > resumed.after for e in _sequenced(c, p) if e.seq is not None)]
    return next((c for c in usable if c.complete), usable[0] if usable else None)


def _difference(resumed: Connection, reference: Connection, p: WsResumption) -> str | None:
    assert resumed.after is not None
    after = resumed.after
    mine, theirs = _sequenced(resumed, p), _sequenced(reference, p)
    upper: float = float("inf")
    for conn, events in ((resumed, mine), (reference, theirs)):
        if not conn.complete:
            upper = min(upper, max((e.seq for e in events if e.seq is not None),
                                   default=after))
    got = [e for e in mine if e.seq is not None and after < e.seq <= upper]
    want = [e for e in theirs if e.seq is not None and after < e.seq <= upper]
    for a, b in zip(got, want, strict=False):
        if a.seq is not None and b.seq is not None and a.seq > b.seq:
            return f"{b.label()} is missing (the other connection has it; {a.label()} came)"
        if a.seq != b.seq:
            return f"{a.label()} is extra (the other connection has {b.label()} there)"
        if not all(json_equal(lookup(a.data, k), lookup(b.data, k)) for k in p.compare):
            return f"{a.label()} differs from the other connection's"
    if len(got) > len(want):
        return f"{len(got) - len(want)} extra event(s) from {got[len(want)].label()}"
    if len(got) < len(want):
        return f"{len(want) - len(got)} event(s) missing from {want[len(got)].label()}"
    return None
