"""The `idempotent_replay` rule kind: retries under one `Idempotency-Key`.

Requests with a valid key are grouped by scope (path params) and key. The
first one accepted is the original; what a later one must get depends on how
the later request differs and on what the original job was doing then, which
the trace shows through polls of the job just before and just after it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Literal

from pydantic import Field

from ..trace import Exchange, Trace, lookup
from .context import Context, answered, json_equal, request_body
from .registry import Params, Verdict, rule_kind
from .requests import When, selected


class IdempotentReplay(Params):
    request: str
    header: str = "Idempotency-Key"
    valid_key: str
    scope: list[str]
    """Path params that scope a key (besides the API key)."""
    job_record: str
    job_id_field: str = "job_id"
    status_field: str = "status"
    in_flight: list[str]
    done: list[str]
    snapshot_field: str = "snapshot"
    created: list[int] = [202]
    case: Literal["completed", "in_flight", "body_mismatch", "new_scope"]
    expect: list[int] = Field(min_length=1)
    when: When = When()
    """Only requests selected by this are judged (originals and retries alike):
    `otherwise_valid` (an invalid body may be refused before its key is looked
    at; no document orders the two), and no state check that may lawfully
    come first."""


@rule_kind("idempotent_replay", IdempotentReplay)
def idempotent_replay(trace: Trace, p: IdempotentReplay, ctx: Context, verdict: Verdict) -> None:
    """A retry under a used key replays (`completed`), is refused while the
    original runs (`in_flight`), is refused with another body
    (`body_mismatch`); the key under another scope is a new request (`new_scope`)."""
    originals: dict[tuple[tuple[str, ...], str], Exchange] = {}
    scopes_of_key: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for ex, params in ctx.requests(p.request):
        key = ex.request_header(p.header)
        if not answered(ex) or ex.credential != "valid" or key is None:
            continue
        if not re.fullmatch(p.valid_key, key):
            continue
        if not selected(ex, params, p.when, ctx, p.request):
            continue
        scope = tuple(params.get(name, "") for name in p.scope)
        original = originals.get((scope, key))
        if original is None:
            # A 404 says the scope itself is unknown (a fuzzer's made-up
            # interview): nothing about the key to judge there.
            if p.case == "new_scope" and scopes_of_key[key] - {scope} and ex.status != 404:
                _expect(verdict, p, ex, "the key was used under another scope only")
            if ex.status in p.created:
                originals[(scope, key)] = ex
            scopes_of_key[key].add(scope)
            continue
        if not json_equal(request_body(ex), request_body(original)):
            if p.case == "body_mismatch":
                _expect(verdict, p, ex, f"same key as #{original.seq} with another body")
            continue
        _judge_retry(p, ctx, verdict, original, ex)


def _judge_retry(p: IdempotentReplay, ctx: Context, verdict: Verdict,
                 original: Exchange, retry: Exchange) -> None:
    job_id = lookup(original.json, p.job_id_field)
    if not isinstance(job_id, str):
        return
    before, after = ctx.around(p.job_record, job_id, retry.seq)
    state_before = lookup(before.body, p.status_field) if before else None
    state_after = lookup(after.body, p.status_field) if after else None
    if p.case == "in_flight" and state_after in p.in_flight:
        _expect(verdict, p, retry, f"original job {job_id} still {state_after!r} after it")
    if p.case != "completed" or state_before not in p.done or before is None:
        return
    if retry.status not in p.expect:
        _expect(verdict, p, retry, f"original job {job_id} was {state_before!r} before it")
        return
    replayed = retry.json
    snapshot = lookup(before.body, p.snapshot_field)
    if lookup(replayed, p.job_id_field) is not None:
        verdict.violate(f"a replay must carry {p.job_id_field}: null",
                        original, before.exchange, retry, fields=(p.job_id_field,))
    elif not json_equal(lookup(replayed, p.snapshot_field), snapshot):
        verdict.violate(f"the replayed {p.snapshot_field} differs from job {job_id}'s",
                        original, before.exchange, retry, fields=(f"{p.snapshot_field}.turns",))
    else:
        verdict.judged()


def _expect(verdict: Verdict, p: IdempotentReplay, ex: Exchange, why: str) -> None:
    if ex.status in p.expect:
        verdict.judged()
    else:
        alts = " or ".join(map(str, p.expect))
        verdict.violate(f"expected {alts} ({why}), got {ex.status}", ex,
                        fields=(p.job_id_field, "error.code"))
