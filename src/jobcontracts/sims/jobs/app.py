"""The convert/goal jobs simulator: routes over files, jobs, workflows.

Endpoints (CONTRACT-DEFAULTS "Convert and goal jobs"; every one under `/v1`
needs `Authorization: Bearer <key>`):

- `POST /v1/files` (multipart, a part named `file`) → `201` `File`;
  `GET /v1/files/{file_id}`;
- `POST /v1/convert`, `GET /v1/convert/{job_id}`; result files are served at
  presigned URLs, `GET /files/download/{result_id}?se=…&sp=r&sig=…`, no key;
- `POST /v1/goals`, `GET /v1/goals/{id}`, `POST …/confirm`, `POST …/cancel`,
  `POST …/slots/{slot_id}`; `GET …/events` is a WebSocket: see
  `connect_events` (a plain GET of it answers `426`);
- `GET /v1/workflows`, `GET|PATCH /v1/workflows/{id}`, `POST …/like`;
- `GET /v1/account/plan`, `GET /v1/account/quota`.

Every request goes the same way: take the lock, read the clock (never
backwards), authenticate (`/v1` paths), spend a rate-limit token (`/v1`
paths, per key; `429` + `Retry-After`, and the request is not carried out),
then run the endpoint, which advances the job it touches to that now. Errors
are `{"error": {"code", "message"}}`; an unexpected simulator bug answers
`500` in the same envelope rather than raising. Files and jobs belong to
the key that created them (another key gets `404`); workflows are shared,
likes are per key.

Where the documents leave a choice open the simulator asks its `Variant`
(`JobsChoices`); faults apply on top.
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, Literal

import httpx

from jobcontracts.clock import Clock
from jobcontracts.sims.common import (
    ApiError,
    SimRouter,
    TokenBucket,
    UrlSigner,
    bearer_token,
    error_body,
    json_response,
)
from jobcontracts.sims.jobs import billing
from jobcontracts.sims.jobs.bodies import json_body, patch_body, quota_params, search_params
from jobcontracts.sims.jobs.choices import JobsChoices
from jobcontracts.sims.jobs.context import Ctx, Handler, IdMint
from jobcontracts.sims.jobs.events import EventChannel
from jobcontracts.sims.jobs.faults import resolve_faults
from jobcontracts.sims.jobs.files import RESULT_URL_TTL, FileBook
from jobcontracts.sims.jobs.market import Marketplace
from jobcontracts.sims.jobs.routes import JobRoutes
from jobcontracts.sims.jobs.view import View
from jobcontracts.sims.variant import Variant, as_variant

DEFAULT_API_KEY = "jobs_test_simulator_key"
BASE_URL = "https://jobs.sim"
MAX_RECORDED_CALLS = 2000
GOAL = r"/v1/goals/(?P<goal_id>[^/]+)"
WORKFLOW = r"/v1/workflows/(?P<workflow_id>[^/]+)"
_EVENTS_PATH = re.compile(rf"^{GOAL}/events\Z")
_SEQ = re.compile(r"[0-9]{1,18}")
_MUTATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class JobsSimulator:
    """An in-process convert/goal jobs API. Route an httpx client to it with
    `httpx.MockTransport(sim.handle)`, serve `sim.handle` over HTTP, and
    carry `sim.connect_events(request)` over a WebSocket.

    Requests under `/v1` are rate-limited per key by a token bucket (the
    variant's, 40 requests and 5 a second by default) unless `rate_limit` is
    None or another (capacity, refill per second).
    """

    def __init__(
        self,
        clock: Clock,
        seed: int = 0,
        faults: Iterable[str] | None = None,
        api_keys: Iterable[str] = (DEFAULT_API_KEY,),
        variant: Variant | int | None = None,
        rate_limit: tuple[float, float] | Literal["variant"] | None = "variant",
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.faults = resolve_faults(faults)
        self.variant = as_variant(variant)
        self.choices = JobsChoices.of(self.variant)
        self.api_keys = tuple(api_keys)
        if not self.api_keys:
            raise ValueError("at least one API key is needed")
        rng = random.Random(seed)
        mint = IdMint(random.Random(rng.getrandbits(64)), self.choices.id_style)
        signer = UrlSigner(rng.getrandbits(256).to_bytes(32, "big"), ttl_seconds=RESULT_URL_TTL)
        self.files = FileBook(mint, signer)
        self.market = Marketplace(random.Random(rng.getrandbits(64)), mint, self.faults)
        self.view = View(self.choices, self.faults)
        self.jobs = JobRoutes(self, mint, random.Random(rng.getrandbits(64)))
        if rate_limit == "variant":
            rate_limit = self.choices.rate_limit
        self.bucket = None if rate_limit is None else TokenBucket(clock, *rate_limit)
        self._lock = threading.RLock()
        self._last_now = clock.now()
        self.router = SimRouter(MAX_RECORDED_CALLS)
        self._install_routes()
        self.handle: Callable[[httpx.Request], httpx.Response] = self.router.handler

    # ------------------------------------------------------------------ routing

    def _install_routes(self) -> None:
        j = self.jobs
        table: list[tuple[str, str, str, Handler]] = [
            ("upload_file", "POST", r"^/v1/files\Z", j.upload),
            ("get_file", "GET", r"^/v1/files/(?P<file_id>[^/]+)\Z", j.get_file),
            ("create_convert", "POST", r"^/v1/convert\Z", j.create_convert),
            ("get_convert", "GET", r"^/v1/convert/(?P<job_id>[^/]+)\Z", j.get_convert),
            ("create_goal", "POST", r"^/v1/goals\Z", j.create_goal),
            ("get_goal", "GET", rf"^{GOAL}\Z", j.get_goal),
            ("confirm_goal", "POST", rf"^{GOAL}/confirm\Z", j.confirm),
            ("cancel_goal", "POST", rf"^{GOAL}/cancel\Z", j.cancel),
            ("fill_slot", "POST", rf"^{GOAL}/slots/(?P<slot_id>[^/]+)\Z", j.fill_slot),
            ("goal_events", "GET", rf"^{GOAL}/events\Z", j.events_without_upgrade),
            ("search_workflows", "GET", r"^/v1/workflows\Z", self._search),
            ("get_workflow", "GET", rf"^{WORKFLOW}\Z", self._get_workflow),
            ("patch_workflow", "PATCH", rf"^{WORKFLOW}\Z", self._patch_workflow),
            ("like_workflow", "POST", rf"^{WORKFLOW}/like\Z", self._like),
            ("get_plan", "GET", r"^/v1/account/plan\Z", self._plan),
            ("get_quota", "GET", r"^/v1/account/quota\Z", self._quota),
            ("download", "GET", r"^/files/download/(?P<result_id>[^/]+)\Z", j.download),
        ]
        self.router.mount(table, lambda _name, handler: self._wrap(handler), self._fallback)

    def _wrap(self, handler: Handler) -> Callable[..., httpx.Response]:
        def side_effect(request: httpx.Request, **params: str) -> httpx.Response:
            with self._lock:
                try:
                    return self._dispatch(handler, request, params)
                except ApiError as exc:
                    return self.error(exc)
                except Exception as exc:  # a simulator bug must not escape as an exception
                    return json_response(500, error_body(
                        self.choices.code("internal_error"),
                        f"simulator error: {type(exc).__name__}: {exc}"))

        return side_effect

    def now(self) -> float:
        """The clock's now, never earlier than a now already used (call under the lock)."""
        now = max(self.clock.now(), self._last_now)
        self._last_now = now
        return now

    def _dispatch(self, handler: Handler, request: httpx.Request,
                  params: dict[str, str]) -> httpx.Response:
        now = self.now()
        key = ""
        if _is_v1(request.url.path):
            key = self.authenticate(request)
            wait = None if self.bucket is None else self.bucket.take(key, now)
            if wait is not None:
                if "refused-request-applied" in self.faults and request.method in _MUTATING:
                    with contextlib.suppress(ApiError):
                        handler(Ctx(request, now, key), **params)
                headers = {}
                if "no-retry-after" not in self.faults:
                    seconds = TokenBucket.retry_after(wait) + self.choices.retry_after_padding
                    headers["Retry-After"] = str(seconds)
                raise ApiError(429, "rate_limited", "too many requests for this API key",
                               headers)
        return handler(Ctx(request, now, key), **params)

    def authenticate(self, request: httpx.Request) -> str:
        token = bearer_token(request)
        if token is not None and token in self.api_keys:
            return token
        if request.method == "GET" and "auth-ignored" in self.faults:
            return self.api_keys[0]
        message = "missing Authorization header" if token is None else "invalid API key"
        raise ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})

    def error(self, exc: ApiError) -> httpx.Response:
        message = self.variant.message(exc.message)
        bare = exc.status == 404 and "bare-error" in self.faults
        body = error_body(self.choices.code(exc.code), message, bare=bare)
        return json_response(exc.status, body, headers=exc.headers)

    def _fallback(self, ctx: Ctx) -> httpx.Response:
        path = ctx.request.url.path
        allowed = self.router.allowed(path)
        if allowed:
            raise ApiError(405, "method_not_allowed",
                           f"{ctx.request.method} is not allowed here; use {', '.join(allowed)}",
                           {"Allow": ", ".join(allowed)})
        raise ApiError(404, "not_found", f"no such endpoint: {ctx.request.method} {path}")

    # ------------------------------------------------------------------ events

    def connect_events(self, request: httpx.Request) -> httpx.Response | EventChannel:
        """The server side of `GET /v1/goals/{id}/events?after_seq=N` (a WebSocket
        upgrade): an `EventChannel`, or the plain answer refusing it (401, 404,
        400 for an `after_seq` that is not a whole number)."""
        with self._lock:
            try:
                match = _EVENTS_PATH.search(request.url.path)
                if match is None:
                    raise ApiError(404, "not_found", f"no event stream at {request.url.path}")
                key = self.authenticate(request)
                raw = request.url.params.get("after_seq", "0").strip() or "0"
                if not _SEQ.fullmatch(raw):
                    raise ApiError(400, "invalid_request",
                                   f"after_seq {raw[:20]!r} is not a whole number")
                goal = self.jobs.goal(key, match["goal_id"], self.now())
            except ApiError as exc:
                return self.error(exc)
            after = int(raw)
            return EventChannel(
                goal, after, clock=self.clock, lock=self._lock, now=self.now,
                render=lambda event: self.view.event(goal, event),
                keepalive_seconds=self.choices.keepalive_seconds,
                replay_last=after > 0 and "resume-replays" in self.faults)

    # ------------------------------------------------------------------ marketplace, billing

    def _workflow(self, workflow_id: str) -> Any:
        workflow = self.market.find(workflow_id)
        if workflow is None:
            raise ApiError(404, "not_found", f"no workflow {workflow_id!r}")
        return workflow

    def _search(self, ctx: Ctx) -> httpx.Response:
        query, cursor, limit = search_params(ctx.request.url.params, self.choices)
        return json_response(200, self.market.search(query, cursor, limit))

    def _get_workflow(self, ctx: Ctx, workflow_id: str) -> httpx.Response:
        return json_response(200, self._workflow(workflow_id).detail())

    def _patch_workflow(self, ctx: Ctx, workflow_id: str) -> httpx.Response:
        workflow = self._workflow(workflow_id)
        version, changes = patch_body(json_body(ctx.request), self.choices)
        self.market.patch(workflow, version, changes)
        return json_response(200, workflow.detail())

    def _like(self, ctx: Ctx, workflow_id: str) -> httpx.Response:
        return json_response(200, self.market.like(self._workflow(workflow_id), ctx.key))

    def _plan(self, ctx: Ctx) -> httpx.Response:
        if "server-error" in self.faults:
            return json_response(500, error_body(self.choices.code("internal_error"),
                                                 "the billing backend is unavailable"))
        return json_response(200, billing.plan(self.choices))

    def _quota(self, ctx: Ctx) -> httpx.Response:
        tools, iterations = quota_params(ctx.request.url.params)
        return json_response(200, billing.estimate(tools, iterations, self.choices, self.faults))


def _is_v1(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")

