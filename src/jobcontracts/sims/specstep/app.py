"""The SpecStep simulator: routes over the interview and generation models.

Every request goes the same way: take the lock, advance the world to the
clock's now, authenticate (`/v1/*`), spend a rate-limit token, then run the
endpoint. Endpoints raise `ApiError` for JSON errors; nothing a client sends
can raise anything else out of the handler (an unexpected bug answers 500).
"""

from __future__ import annotations

import math
import random
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from jobcontracts.clock import Clock
from jobcontracts.sims.common import (
    ApiError,
    BodyError,
    SimRouter,
    TokenBucket,
    UrlSigner,
    UuidMint,
    bearer_token,
    canonical_json,
    error_response,
    json_response,
    looks_like_uuid,
    parse_json_object,
    retry_after_value,
)
from jobcontracts.sims.specstep.choices import choose
from jobcontracts.sims.specstep.faults import resolve_faults
from jobcontracts.sims.specstep.generation import parse_answers, parse_review_profile
from jobcontracts.sims.specstep.model import GenerationBook, Interview, InterviewBook
from jobcontracts.sims.specstep.package import build_package_zip
from jobcontracts.sims.variant import Variant, as_variant

DEFAULT_API_KEY = "sf_test_simulator_key"
GENERATION_QUOTA = 100
THROTTLE_LIE_SECONDS = 600.0
MAX_RECORDED_CALLS = 2000


@dataclass
class Ctx:
    """One request being handled."""

    request: httpx.Request
    now: float
    key: str  # the API key it is served as ("" on unauthenticated routes)


Handler = Callable[..., httpx.Response]


class SpecStepSimulator:
    """An in-process SpecStep API. Route an httpx client to it with
    `httpx.MockTransport(sim.handle)`, or serve `sim.router` over HTTP."""

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
        self.choices = choose(self.variant)
        self.api_keys = tuple(api_keys)
        if not self.api_keys:
            raise ValueError("at least one API key is needed")
        rng = random.Random(seed)
        self._mint = UuidMint(rng)
        self.interviews = InterviewBook(random.Random(rng.getrandbits(64)), self._mint, self.faults,
                                        self.choices)
        self.generations = GenerationBook(random.Random(rng.getrandbits(64)), self.faults,
                                          self.choices)
        self.signer = UrlSigner(rng.getrandbits(256).to_bytes(32, "big"), ttl_seconds=600.0)
        if rate_limit == "variant":
            rate_limit = self.choices.bucket
        self.bucket = None if rate_limit is None else TokenBucket(clock, *rate_limit)
        self._throttled_until: dict[str, float] = {}
        self._created: dict[str, int] = {}
        self._lock = threading.RLock()
        self._last_now = clock.now()
        self.router = SimRouter(MAX_RECORDED_CALLS)
        self._install_routes()
        self.handle: Callable[[httpx.Request], httpx.Response] = self.router.handler

    # ------------------------------------------------------------------ routing

    def _install_routes(self) -> None:
        v1 = "/v1"
        table: list[tuple[str, str, str, Handler]] = [
            ("me", "GET", rf"^{v1}/me\Z", self._me),
            ("create_interview", "POST", rf"^{v1}/interviews\Z", self._create_interview),
            (
                "get_turn_job",
                "GET",
                rf"^{v1}/interviews/turns/(?P<job_id>[^/]+)\Z",
                self._get_turn_job,
            ),
            (
                "get_interview",
                "GET",
                rf"^{v1}/interviews/(?P<interview_id>[^/]+)\Z",
                self._get_interview,
            ),
            (
                "post_turn",
                "POST",
                rf"^{v1}/interviews/(?P<interview_id>[^/]+)/turns\Z",
                self._post_turn,
            ),
            (
                "complete_interview",
                "POST",
                rf"^{v1}/interviews/(?P<interview_id>[^/]+)/complete\Z",
                self._complete,
            ),
            ("create_generation", "POST", rf"^{v1}/generations\Z", self._create_generation),
            (
                "get_generation",
                "GET",
                rf"^{v1}/generations/(?P<generation_id>[^/]+)\Z",
                self._get_generation,
            ),
            (
                "get_clarifications",
                "GET",
                rf"^{v1}/generations/(?P<generation_id>[^/]+)/clarifications\Z",
                self._get_clarifications,
            ),
            (
                "post_answers",
                "POST",
                rf"^{v1}/generations/(?P<generation_id>[^/]+)/clarifications/answers\Z",
                self._post_answers,
            ),
            (
                "get_package",
                "GET",
                rf"^{v1}/packages/(?P<package_id>[^/]+)/zip\Z",
                self._get_package,
            ),
            ("get_blob", "GET", r"^/_blob/packages/(?P<package_id>[^/]+)\.zip\Z", self._get_blob),
        ]
        self.router.mount(table, self._wrap, self._fallback)

    def _wrap(self, name: str, handler: Handler) -> Callable[..., httpx.Response]:
        def side_effect(request: httpx.Request, **params: str) -> httpx.Response:
            with self._lock:
                try:
                    return self._dispatch(name, handler, request, params)
                except ApiError as exc:
                    return self._error(exc)
                except Exception as exc:  # a simulator bug must not escape as an exception
                    return error_response(
                        500, "INTERNAL_ERROR", f"simulator error: {type(exc).__name__}: {exc}"
                    )

        return side_effect

    def _dispatch(
        self, name: str, handler: Handler, request: httpx.Request, params: dict[str, str]
    ) -> httpx.Response:
        now = max(self.clock.now(), self._last_now)
        self._last_now = now
        self.interviews.advance(now)
        self.generations.advance(now)
        path = request.url.path
        key = ""
        if path == "/v1" or path.startswith("/v1/"):
            key = self._authenticate(request)
            self._rate_limit(name, key, request, params, now)
        return handler(Ctx(request, now, key), **params)

    def _authenticate(self, request: httpx.Request) -> str:
        token = bearer_token(request)
        if token is not None and token in self.api_keys:
            return token
        if request.method == "GET" and "auth-ignored" in self.faults:
            return self.api_keys[0]
        message = "missing Authorization header" if token is None else "invalid API key"
        raise ApiError(401, "UNAUTHORIZED", message, {"WWW-Authenticate": "Bearer"})

    def _rate_limit(
        self, name: str, key: str, request: httpx.Request, params: dict[str, str], now: float
    ) -> None:
        if self.bucket is None:
            return
        never = "rate-limit-never-lifts" in self.faults
        lies = never or "retry-after-lies" in self.faults
        wait: float | None
        if lies and now < self._throttled_until.get(key, -1.0):
            wait = 1.0
        else:
            wait = self.bucket.take(key, now)
        if wait is None:
            return
        if lies:
            if now >= self._throttled_until.get(key, -1.0):
                self._throttled_until[key] = math.inf if never else now + THROTTLE_LIE_SECONDS
            wait = 1.0
        if name == "post_turn" and "refused-turn-committed" in self.faults:
            self._commit_refused_turn(key, request, params.get("interview_id", ""))
        headers = {}
        if "retry-after-missing" not in self.faults:
            headers["Retry-After"] = retry_after_value(self.clock, now, wait,
                                                       self.choices.retry_after_date)
        raise ApiError(429, "RATE_LIMITED", "too many requests for this API key", headers)

    def _commit_refused_turn(self, key: str, request: httpx.Request, interview_id: str) -> None:
        try:
            interview = self.interviews.interview(key, interview_id)
            message = parse_json_object(request.content).get("message")
        except (ApiError, BodyError):
            return
        if isinstance(message, str) and interview.status == "Active":
            self.interviews.commit_user_turn(interview, message)

    def _error(self, exc: ApiError) -> httpx.Response:
        bare = "bare-error" in self.faults and 400 <= exc.status < 500
        code = self.choices.invalid_code if exc.code == "INVALID_REQUEST" else exc.code
        return error_response(exc.status, code, self.variant.message(exc.message),
                              headers=exc.headers, bare=bare)

    def _fallback(self, ctx: Ctx) -> httpx.Response:
        path = ctx.request.url.path
        allowed = self.router.allowed(path)
        if allowed:
            raise ApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"{ctx.request.method} is not allowed here; use {', '.join(allowed)}",
                {"Allow": ", ".join(allowed)},
            )
        raise ApiError(404, "NOT_FOUND", f"no such endpoint: {ctx.request.method} {path}")

    # ------------------------------------------------------------------ helpers

    def _body(self, request: httpx.Request, *, allow_empty: bool = False,
              fields: Iterable[str] = ()) -> dict[str, Any]:
        """The JSON object body; unknown keys (beyond `fields`) as the variant says."""
        try:
            body = parse_json_object(request.content, allow_empty=allow_empty)
        except BodyError as exc:
            raise ApiError(400, "INVALID_REQUEST", str(exc)) from None
        extra = sorted(set(body) - set(fields))
        if extra and self.choices.extra_fields is not None:
            raise ApiError(self.choices.extra_fields, "INVALID_REQUEST",
                           f"unknown field(s): {', '.join(map(repr, extra))}")
        return body

    def _check_message(self, message: str) -> None:
        """Inputs no document rules on, refused or not as the variant says."""
        c = self.choices
        if not message.strip() and c.empty_message is not None:
            raise ApiError(c.empty_message, "INVALID_REQUEST", '"message" must not be empty')
        if c.message_limit is not None and len(message) > c.message_limit[0]:
            raise ApiError(c.message_limit[1], "INVALID_REQUEST",
                           f'"message" is longer than {c.message_limit[0]} characters')
        if c.odd_characters is not None and any(
                unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in message):
            raise ApiError(c.odd_characters, "INVALID_REQUEST",
                           '"message" holds control or format characters')

    # ------------------------------------------------------------------ account

    def _me(self, ctx: Ctx) -> httpx.Response:
        if "me-rejects-valid-key" in self.faults:
            raise ApiError(401, "UNAUTHORIZED", "invalid API key", {"WWW-Authenticate": "Bearer"})
        used = self._created.get(ctx.key, 0)
        return json_response(
            200,
            {
                "key_prefix": ctx.key[:7],
                "plan": "free",
                "generations_remaining": max(0, GENERATION_QUOTA - used),
            },
        )

    # ------------------------------------------------------------------ interviews

    def _create_interview(self, ctx: Ctx) -> httpx.Response:
        self._body(ctx.request, allow_empty=True)
        interview = self.interviews.create_interview(ctx.key)
        return json_response(201, interview.record())

    def _get_interview(self, ctx: Ctx, interview_id: str) -> httpx.Response:
        return json_response(200, self.interviews.interview(ctx.key, interview_id).record())

    def _complete(self, ctx: Ctx, interview_id: str) -> httpx.Response:
        interview = self.interviews.interview(ctx.key, interview_id)
        self._body(ctx.request, allow_empty=True)
        return json_response(200, self.interviews.complete(interview).record())

    def _post_turn(self, ctx: Ctx, interview_id: str) -> httpx.Response:
        book = self.interviews
        interview = book.interview(ctx.key, interview_id)
        if self.choices.state_before_body:
            self._refuse_completed(interview)
        idem_key = ctx.request.headers.get("idempotency-key")
        book.check_idempotency_key(idem_key)
        body = self._body(ctx.request, fields=("message",))
        message = body.get("message")
        if not isinstance(message, str):
            raise ApiError(400, "INVALID_REQUEST", '"message" must be a string')
        try:
            canonical = canonical_json(body)
        except BodyError as exc:
            raise ApiError(400, "INVALID_REQUEST", str(exc)) from None
        if "crash-on-astral" in self.faults and any(ord(ch) > 0xFFFF for ch in message):
            return error_response(500, "INTERNAL_ERROR", "could not store the message")
        self._check_message(message)
        self._refuse_completed(interview)
        status, payload = book.post_turn(ctx.key, interview, message, canonical, idem_key, ctx.now)
        if status == 202 and idem_key is None and "turn-accepted-200" in self.faults:
            status = 200
        return json_response(status, payload)

    def _refuse_completed(self, interview: Interview) -> None:
        if interview.status == "Completed" and "turn-after-complete" not in self.faults:
            raise ApiError(409, "INTERVIEW_COMPLETED", f"interview {interview.id} is completed")

    def _get_turn_job(self, ctx: Ctx, job_id: str) -> httpx.Response:
        job = self.interviews.job(ctx.key, job_id)
        return json_response(200, self.interviews.job_view(job, ctx.now))

    # ------------------------------------------------------------------ generations

    def _create_generation(self, ctx: Ctx) -> httpx.Response:
        body = self._body(ctx.request, fields=("intake_id", "review_profile"))
        intake_id = body.get("intake_id")
        if not isinstance(intake_id, str):
            raise ApiError(400, "INVALID_REQUEST", '"intake_id" must be a string')
        if not self.choices.intake_before_profile:
            profile = parse_review_profile(body, self.faults)
        intake = self.interviews.intake(ctx.key, intake_id)
        interview_id = None if intake is None else intake.interview_id
        if intake is None and not (
            "unknown-intake-accepted" in self.faults and looks_like_uuid(intake_id)
        ):
            status = 500 if "unknown-intake-500" in self.faults else 404
            raise ApiError(status, "INTAKE_NOT_FOUND", f"no intake {intake_id!r} for this API key")
        if self.choices.intake_before_profile:
            profile = parse_review_profile(body, self.faults)
        generation = self.generations.create(ctx.key, intake_id, interview_id, profile, ctx.now)
        self._created[ctx.key] = self._created.get(ctx.key, 0) + 1
        return json_response(202, generation.status(ctx.now))

    def _get_generation(self, ctx: Ctx, generation_id: str) -> httpx.Response:
        generation = self.generations.get(ctx.key, generation_id)
        content_type = "text/plain" if "wrong-content-type" in self.faults else "application/json"
        return json_response(200, generation.status(ctx.now), content_type=content_type)

    def _get_clarifications(self, ctx: Ctx, generation_id: str) -> httpx.Response:
        generation = self.generations.get(ctx.key, generation_id)
        return json_response(
            200,
            {"state": generation.rendered_state(), "clarifications": generation.clarifications()},
        )

    def _post_answers(self, ctx: Ctx, generation_id: str) -> httpx.Response:
        generation = self.generations.get(ctx.key, generation_id)
        if self.choices.state_before_body:
            generation.refuse_unless_paused()
        batch = parse_answers(self._body(ctx.request, fields=("answers",)))
        return json_response(200, generation.answer(batch, ctx.now))

    # ------------------------------------------------------------------ packages

    def _get_package(self, ctx: Ctx, package_id: str) -> httpx.Response:
        self.generations.package(ctx.key, package_id)
        path = f"/_blob/packages/{package_id}.zip"
        query = self.signer.query(path, ctx.now)
        location = ctx.request.url.copy_with(path=path, query=query.encode("ascii"), fragment=None)
        return json_response(302, {"location": str(location)}, headers={"Location": str(location)})

    def _get_blob(self, ctx: Ctx, package_id: str) -> httpx.Response:
        if "package-needs-key" in self.faults and bearer_token(ctx.request) not in self.api_keys:
            raise ApiError(401, "UNAUTHORIZED", "this download needs the API key")
        problem = self.signer.check(ctx.request.url.path, ctx.request.url.params, ctx.now)
        if problem is not None:
            raise ApiError(403, "AUTHENTICATION_FAILED", problem)
        generation = self.generations.package(None, package_id)
        interview = self.interviews.interviews.get(generation.interview_id or "")
        return httpx.Response(
            200,
            content=build_package_zip(generation, interview),
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="{generation.id}.zip"',
            },
        )
