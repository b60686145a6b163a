"""The POS adapter-scripts simulator: routes over the job model.

Endpoints (every path of pos-adapter-scripts.openapi.yaml, plus the two that
CONTRACT-DEFAULTS.md assumes):

- `POST /api/v1/adapter-scripts/generate` `{"provider": str, "topic": str}`
  → `202` `{"jobId": int}`; a body that is not JSON → `400`; a JSON object
  that lacks either string → `400` (a variant may say `422`);
- `GET /api/v1/adapter-scripts/jobs/{jobId}` → `200`
  `{"code": 200, "isSuccess": true, "message", "job"}`; an unknown id, or one
  that is not a canonical decimal integer, → `404`;
- `POST /api/v1/adapter-scripts/jobs/{jobId}/respond` `{"humanResponse": str}`
  → `200` with the same envelope as the GET (the job as answered); `409` when
  the job is not `needs_clarification` (nothing changes); `404`, `400` as above,
  in the order the variant checks them (job, body, state by default).

Where the documents leave a choice open (the order of those checks, inputs
nobody rules on, id style, timings, attempts, texts, rate limits), the
simulator asks its `Variant`, through `PosChoices` (`sims/pos/choices.py`);
variant 0 is the reference behaviour described here. Faults apply on top.

Every request goes the same way: take the lock, authenticate (`X-Api-Key`, on
every path under `/api/`), spend a rate-limit token if a limit is set (a
variant may limit, and may do so before authenticating), then
run the endpoint, which advances the job it touches to the clock's now. Every
error answer is the documented envelope
`{"error": {"code": <status>, "message", "details", "field"}}`; an unexpected
simulator bug answers `500` in the same envelope rather than raising.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx

from jobcontracts.clock import Clock
from jobcontracts.sims.common import (
    ApiError,
    BodyError,
    SimRouter,
    TokenBucket,
    json_response,
    parse_json_object,
)
from jobcontracts.sims.pos.choices import PosChoices
from jobcontracts.sims.pos.faults import resolve_faults
from jobcontracts.sims.pos.jobs import PAUSED, Job, JobBook
from jobcontracts.sims.pos.view import job_view
from jobcontracts.sims.variant import Variant, as_variant

DEFAULT_API_KEY = "pos_test_simulator_key"
MAX_RECORDED_CALLS = 2000
PREFIX = "/api/v1/adapter-scripts"


class PosError(ApiError):
    """An error answered with the POS envelope; `field` names the culprit ("" if none)."""

    def __init__(
        self,
        status: int,
        details: str,
        field: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, HTTPStatus(status).phrase, details, headers)
        self.details = details
        self.field = field


def error_envelope(status: int, details: str, field: str = "") -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": HTTPStatus(status).phrase,
            "details": details,
            "field": field,
        }
    }


@dataclass
class Ctx:
    """One request being handled."""

    request: httpx.Request
    now: float
    key: str  # the API key it is served as ("" on unauthenticated paths)


Handler = Callable[..., httpx.Response]


class PosSimulator:
    """An in-process POS adapter-scripts job API. Route an httpx client to it
    with `httpx.MockTransport(sim.handle)`, or serve `sim.router` over HTTP.

    Jobs are per API key: a job created with one key is unknown (`404`) to
    another. There is no rate limit unless `rate_limit` (capacity, refill per
    second) is given, or the variant chooses one.
    """

    def __init__(
        self,
        clock: Clock,
        seed: int = 0,
        faults: Iterable[str] | None = None,
        api_keys: Iterable[str] = (DEFAULT_API_KEY,),
        variant: Variant | int | None = None,
        rate_limit: tuple[float, float] | None = None,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.faults = resolve_faults(faults)
        self.variant = as_variant(variant)
        self.choices = PosChoices.of(self.variant)
        self.api_keys = tuple(api_keys)
        if not self.api_keys:
            raise ValueError("at least one API key is needed")
        self.jobs = JobBook(random.Random(seed), self.choices)
        limit = rate_limit if rate_limit is not None else self.choices.rate_limit
        self.bucket = None if limit is None else TokenBucket(clock, *limit)
        self._lock = threading.RLock()
        self._last_now = clock.now()
        self.router = SimRouter(MAX_RECORDED_CALLS)
        self._install_routes()
        self.handle: Callable[[httpx.Request], httpx.Response] = self.router.handler

    # ------------------------------------------------------------------ routing

    def _install_routes(self) -> None:
        table: list[tuple[str, str, str, Handler]] = [
            ("generate", "POST", rf"^{PREFIX}/generate\Z", self._generate),
            ("get_job", "GET", rf"^{PREFIX}/jobs/(?P<job_id>[^/]+)\Z", self._get_job),
            ("respond", "POST", rf"^{PREFIX}/jobs/(?P<job_id>[^/]+)/respond\Z", self._respond),
        ]
        self.router.mount(table, self._wrap, self._fallback)

    def _wrap(self, name: str, handler: Handler) -> Callable[..., httpx.Response]:
        def side_effect(request: httpx.Request, **params: str) -> httpx.Response:
            with self._lock:
                try:
                    return self._dispatch(name, handler, request, params)
                except PosError as exc:
                    body = error_envelope(exc.status, self.variant.message(exc.details),
                                          self.choices.error_field_name(exc.field))
                    return json_response(exc.status, body, headers=exc.headers)
                except ApiError as exc:
                    body = error_envelope(exc.status, self.variant.message(exc.message))
                    return json_response(exc.status, body, headers=exc.headers)
                except Exception as exc:  # a simulator bug must not escape as an exception
                    details = f"simulator error: {type(exc).__name__}: {exc}"
                    return json_response(500, error_envelope(500, details))

        return side_effect

    def _dispatch(
        self, name: str, handler: Handler, request: httpx.Request, params: dict[str, str]
    ) -> httpx.Response:
        now = max(self.clock.now(), self._last_now)
        self._last_now = now
        path = request.url.path
        key = ""
        if path == "/api" or path.startswith("/api/"):
            if self.choices.rate_limit_first:
                self._rate_limit(request.headers.get("x-api-key", ""), now)
                key = self._authenticate(name, request)
            else:
                key = self._authenticate(name, request)
                self._rate_limit(key, now)
        return handler(Ctx(request, now, key), **params)

    def _authenticate(self, name: str, request: httpx.Request) -> str:
        given: str | None = request.headers.get("x-api-key")
        if given is not None and given in self.api_keys:
            return given
        if name == "get_job" and "auth-ignored" in self.faults:
            return self.api_keys[0]
        details = "missing X-Api-Key header" if given is None else "invalid API key"
        raise PosError(401, details, "X-Api-Key")

    def _rate_limit(self, key: str, now: float) -> None:
        if self.bucket is None:
            return
        wait = self.bucket.take(key, now)
        if wait is not None:
            seconds = TokenBucket.retry_after(wait) + self.choices.retry_after_padding
            headers = {"Retry-After": str(seconds)}
            raise PosError(429, "too many requests for this API key", "", headers)

    def _fallback(self, ctx: Ctx) -> httpx.Response:
        path = ctx.request.url.path
        allowed = self.router.allowed(path)
        if allowed:
            raise PosError(
                405,
                f"{ctx.request.method} is not allowed here; use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise PosError(404, f"no such endpoint: {ctx.request.method} {path}")

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _body(request: httpx.Request) -> dict[str, Any]:
        try:
            return parse_json_object(request.content)
        except BodyError as exc:
            raise PosError(400, str(exc)) from None

    def _strings(self, request: httpx.Request, fields: tuple[str, ...]) -> dict[str, str]:
        """The body's string `fields`: each required and a string (else `400`, or
        the variant's `422`), then the variant's refusals of inputs no rule covers."""
        body = self._body(request)
        invalid = self.choices.invalid_body_status
        for field in fields:
            if field not in body:
                raise PosError(invalid, f"{field} is required", field)
            if not isinstance(body[field], str):
                raise PosError(invalid, f"{field} must be a string", field)
        refused = self.choices.extra_refusal(body, fields)
        if refused is not None:
            raise PosError(*refused)
        for field in fields:
            refused = self.choices.string_refusal(field, body[field])
            if refused is not None:
                raise PosError(*refused, field)
        return {field: body[field] for field in fields}

    def _job(self, ctx: Ctx, job_id: str) -> Job:
        job = self.jobs.find(ctx.key, job_id, ctx.now)
        if job is None:
            raise PosError(404, f"no adapter-script job {job_id!r} for this API key", "jobId")
        return job

    def _envelope(self, job: Job, message: str) -> dict[str, Any]:
        return {
            "code": 200,
            "isSuccess": "success-flag-false" not in self.faults,
            "message": message,
            "job": job_view(job, self.faults),
        }

    # ------------------------------------------------------------------ endpoints

    def _generate(self, ctx: Ctx) -> httpx.Response:
        fields = self._strings(ctx.request, ("provider", "topic"))
        job = self.jobs.create(ctx.key, fields["provider"], fields["topic"], ctx.now)
        return json_response(202, {"jobId": job.id})

    def _get_job(self, ctx: Ctx, job_id: str) -> httpx.Response:
        job = self.jobs.find(ctx.key, job_id, ctx.now)
        if job is None:
            details = f"no adapter-script job {job_id!r} for this API key"
            if "unknown-job-500" in self.faults:
                return json_response(500, error_envelope(500, details, "jobId"))
            if "bare-not-found" in self.faults:
                return json_response(404, {"message": "Job not found"})
            raise PosError(404, details, "jobId")
        return json_response(200, self._envelope(job, self.variant.message("Job status retrieved")))

    def _respond(self, ctx: Ctx, job_id: str) -> httpx.Response:
        """The job (404), the body (400/422) and the state (409), in the variant's order."""
        job: Job | None = None
        answer: str | None = None
        stray = False
        for step in self.choices.respond_check_order:
            if step == "job":
                job = self._job(ctx, job_id)
            elif step == "body":
                answer = self._strings(ctx.request, ("humanResponse",))["humanResponse"]
            elif job is not None and job.status != PAUSED:  # "state" (always after "job")
                stray = self._not_paused(ctx, job, answer)
        assert job is not None and answer is not None
        if stray:
            job.record_stray_response(answer, ctx.now)
            return json_response(200, self._envelope(job, self.variant.message(
                "Response recorded")))
        job.respond(answer, ctx.now)
        return json_response(200, self._envelope(job, self.variant.message(
            "Response recorded; generation resumed")))

    def _not_paused(self, ctx: Ctx, job: Job, answer: str | None) -> bool:
        """Refuse (409) a respond to a job that is not paused; under
        `respond-anytime`, say it is to be recorded instead (True)."""
        if "respond-anytime" in self.faults:
            return True
        if "respond-409-but-recorded" in self.faults:
            if answer is None:  # checked before the body: record it if it is one
                try:
                    answer = self._strings(ctx.request, ("humanResponse",))["humanResponse"]
                except PosError:
                    answer = None
            if answer is not None:
                job.record_stray_response(answer, ctx.now)
        raise PosError(409, f"job {job.id} is {job.status}, not needs_clarification", "status")
