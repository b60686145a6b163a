"""The file, convert and goal endpoints of the jobs simulator.

Each handler gets the request's `Ctx` (authenticated, rate-limited, its now
read) and raises `ApiError` to refuse. A refusal changes nothing: every
check runs before the first change (JOB-CONV-2, JOB-GOAL-3, JOB-SLOT-2/3).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import httpx

from jobcontracts.sims.common import ApiError, bearer_token, json_response
from jobcontracts.sims.jobs.bodies import (
    INVALID,
    as_string_list,
    convert_body,
    goal_body,
    json_body,
    refuse_extra,
)
from jobcontracts.sims.jobs.context import Ctx, IdMint
from jobcontracts.sims.jobs.convert import ConvertJob
from jobcontracts.sims.jobs.files import DEFAULT_CONTENT_TYPE, StoredFile
from jobcontracts.sims.jobs.goals import READY, Goal
from jobcontracts.sims.jobs.multipart import MultipartError, parse_multipart
from jobcontracts.sims.jobs.slots import value_problem

if TYPE_CHECKING:
    from jobcontracts.sims.jobs.app import JobsSimulator

#: States from which `confirm-anywhere` jumps to confirmed.
_EARLY = frozenset({"draft", "created", "analyzing"})


class JobRoutes:
    def __init__(self, sim: JobsSimulator, mint: IdMint, rng: random.Random) -> None:
        self.sim = sim
        self.mint = mint
        self.rng = rng
        self.convert_jobs: dict[str, ConvertJob] = {}
        self.goals: dict[str, Goal] = {}

    @property
    def faults(self) -> frozenset[str]:
        return self.sim.faults

    # ------------------------------------------------------------------ look-ups

    def stored_file(self, key: str, file_id: str) -> StoredFile:
        stored = self.sim.files.find(key, file_id)
        if stored is None:
            raise ApiError(404, "not_found", f"no file {file_id!r}")
        return stored

    def convert_job(self, key: str, job_id: str, now: float) -> ConvertJob:
        job = self.convert_jobs.get(job_id)
        if job is None or job.owner != key:
            raise ApiError(404, "not_found", f"no convert job {job_id!r}")
        job.advance(now)
        return job

    def goal(self, key: str, goal_id: str, now: float) -> Goal:
        goal = self.goals.get(goal_id)
        if goal is None or goal.owner != key:
            raise ApiError(404, "not_found", f"no goal job {goal_id!r}")
        goal.advance(now)
        return goal

    def _goal_answer(self, goal: Goal) -> httpx.Response:
        return json_response(200, self.sim.view.goal(goal))

    # ------------------------------------------------------------------ files

    def upload(self, ctx: Ctx) -> httpx.Response:
        content_type = ctx.request.headers.get("content-type", "")
        try:
            parts = parse_multipart(content_type, ctx.request.content)
        except MultipartError as exc:
            if "no-file-part-accepted" not in self.faults:
                raise ApiError(400, INVALID, f"a multipart part named 'file' is required; "
                               f"{exc}") from None
            parts = []
        part = next((p for p in parts if p.name == "file"), None)
        if part is None and "no-file-part-accepted" not in self.faults:
            raise ApiError(400, INVALID, "the form has no part named 'file'")
        filename = "" if part is None else part.filename or ""
        given = None if part is None else part.content_type
        size = 0 if part is None else len(part.content)
        stored = self.sim.files.upload(ctx.key, filename, size,
                                       given or DEFAULT_CONTENT_TYPE, ctx.now)
        return json_response(201, self.sim.view.file(stored))

    def get_file(self, ctx: Ctx, file_id: str) -> httpx.Response:
        record = self.sim.view.file(self.stored_file(ctx.key, file_id))
        if "json-as-text" in self.faults:
            return json_response(200, record, content_type="text/plain")
        return json_response(200, record)

    def download(self, ctx: Ctx, result_id: str) -> httpx.Response:
        blob = self.sim.files.results.get(result_id)
        if blob is None:
            raise ApiError(404, "not_found", f"no result file {result_id!r}")
        if "presigned-needs-key" in self.faults and bearer_token(ctx.request) \
                not in self.sim.api_keys:
            raise ApiError(401, "unauthorized", "missing Authorization header",
                           {"WWW-Authenticate": "Bearer"})
        problem = self.sim.files.signer.check(ctx.request.url.path, ctx.request.url.params,
                                              ctx.now)
        if problem is not None:
            raise ApiError(403, "forbidden", problem)
        return httpx.Response(200, content=blob.body(), headers={"Content-Type": blob.mimetype})

    # ------------------------------------------------------------------ convert jobs

    def create_convert(self, ctx: Ctx) -> httpx.Response:
        body = json_body(ctx.request)
        parsed = None
        inputs: list[StoredFile] = []
        for check in self.sim.choices.convert_check_order:
            if check == "body":
                parsed = convert_body(body, self.sim.choices, self.faults)
            else:
                ids = as_string_list(body.get("file_ids")) or []
                inputs = [self.stored_file(ctx.key, file_id) for file_id in ids]
        assert parsed is not None
        job = ConvertJob(job_id=self.mint("cv"), owner=ctx.key, processor=parsed.processor_type,
                         inputs=inputs, created_at=ctx.now,
                         rng=random.Random(self.rng.getrandbits(64)), files=self.sim.files,
                         choices=self.sim.choices, regresses="progress-regresses" in self.faults)
        self.convert_jobs[job.job_id] = job
        if self.sim.choices.mark_consumed:
            for stored in inputs:
                stored.job_id = stored.job_id or job.job_id
        return json_response(202, self.sim.view.convert_job(job, ctx.base))

    def get_convert(self, ctx: Ctx, job_id: str) -> httpx.Response:
        job = self.convert_job(ctx.key, job_id, ctx.now)
        return json_response(200, self.sim.view.convert_job(job, ctx.base))

    # ------------------------------------------------------------------ goal jobs

    def create_goal(self, ctx: Ctx) -> httpx.Response:
        body = json_body(ctx.request)
        parsed = None
        for check in self.sim.choices.goal_check_order:
            if check == "body":
                parsed = goal_body(body, self.sim.choices, self.faults)
            else:
                for file_id in as_string_list(body.get("file_ids")) or []:
                    self.stored_file(ctx.key, file_id)
                workflow_id = body.get("workflow_id")
                if isinstance(workflow_id, str) and self.sim.market.find(workflow_id) is None:
                    raise ApiError(404, "not_found", f"no workflow {workflow_id!r}")
        assert parsed is not None
        goal = Goal(job_spec_id=self.mint("goal"), owner=ctx.key, goal_text=parsed.goal_text,
                    file_ids=parsed.file_ids, workflow_id=parsed.workflow_id,
                    created_at=ctx.now, rng=random.Random(self.rng.getrandbits(64)),
                    faults=self.faults, choices=self.sim.choices)
        self.goals[goal.job_spec_id] = goal
        return json_response(202, self.sim.view.goal(goal))

    def get_goal(self, ctx: Ctx, goal_id: str) -> httpx.Response:
        return self._goal_answer(self.goal(ctx.key, goal_id, ctx.now))

    def confirm(self, ctx: Ctx, goal_id: str) -> httpx.Response:
        goal = self.goal(ctx.key, goal_id, ctx.now)
        if goal.status in READY:
            goal.confirm(ctx.now)
        elif "confirm-anywhere" in self.faults and goal.status != "slots_pending":
            if goal.status in _EARLY:
                goal.confirm(ctx.now)
        else:
            raise ApiError(409, "conflict", f"goal job {goal_id} is {goal.status}; only a "
                           "ready or ready_with_preview job can be confirmed")
        return self._goal_answer(goal)

    def cancel(self, ctx: Ctx, goal_id: str) -> httpx.Response:
        goal = self.goal(ctx.key, goal_id, ctx.now)
        if not goal.terminal:
            goal.cancel(ctx.now)
        elif "cancel-terminal-200" not in self.faults:
            raise ApiError(409, "conflict", f"goal job {goal_id} is already {goal.status}")
        return self._goal_answer(goal)

    def fill_slot(self, ctx: Ctx, goal_id: str, slot_id: str) -> httpx.Response:
        """State (409), then slot (404), then body and value (400/422): JOB-SLOT-3."""
        goal = self.goal(ctx.key, goal_id, ctx.now)
        if goal.status != "slots_pending":
            if "fill-after-pause" not in self.faults:
                raise ApiError(409, "conflict", f"goal job {goal_id} is {goal.status}, "
                               "not slots_pending")
            if not goal.terminal:
                goal.record_stray_fill(slot_id, self._value(ctx), ctx.now)
            return self._goal_answer(goal)
        slot = next((s for s in goal.pending if s.slot_id == slot_id), None)
        if slot is None:
            filled = "already filled" if slot_id in goal.filled else "unknown"
            raise ApiError(404, "not_found", f"slot {slot_id!r} is {filled} on goal job "
                           f"{goal_id}")
        try:
            value = self._value(ctx)
            problem = value_problem(slot, value, self.sim.choices,
                                    outside_ok="option-outside-accepted" in self.faults)
            if problem is not None:
                raise ApiError(problem[0], "invalid_slot_value", problem[1])
        except ApiError as exc:
            if exc.status == 422 and "refused-fill-changes" in self.faults:
                goal.bump(ctx.now)
            raise
        if "slot-fill-lost" not in self.faults:
            goal.fill(slot, value, ctx.now)
        return self._goal_answer(goal)

    def _value(self, ctx: Ctx) -> Any:
        body = json_body(ctx.request)
        if "value" not in body:
            raise ApiError(self.sim.choices.invalid_type_status, INVALID, "value is required")
        refuse_extra(body, ("value",), self.sim.choices)
        return body["value"]

    def events_without_upgrade(self, ctx: Ctx, goal_id: str) -> httpx.Response:
        self.goal(ctx.key, goal_id, ctx.now)
        raise ApiError(426, "upgrade_required",
                       "the event stream is a WebSocket: send an Upgrade request",
                       {"Upgrade": "websocket", "Connection": "Upgrade"})
