"""The Interrogation Agent simulator: routes over planned simulation runs.

Every request goes the same way: take the lock, read the clock (never
backwards), spend a rate-limit token if a limit is set, then run the
endpoint. Endpoints raise `ApiError` for JSON errors; nothing a client sends
can raise anything else out of the handler (an unexpected bug answers 500).

The document has no authentication: `api_keys` is accepted for the common
simulator interface and ignored. Routes match on the path only, so the same
simulator answers in process (`https://interrogation.sim`) and served.

Where the documents leave a choice open, the simulator asks its `Variant`
(see `choices`); faults apply on top of any variant.
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from jobcontracts.clock import Clock
from jobcontracts.sims.common import (
    ApiError,
    BodyError,
    SimRouter,
    TokenBucket,
    UuidMint,
    json_response,
    parse_json_object,
)
from jobcontracts.sims.interrogation.catalog import Catalog
from jobcontracts.sims.interrogation.choices import CHECKS, Choices
from jobcontracts.sims.interrogation.faults import resolve_faults
from jobcontracts.sims.interrogation.request import parse_request
from jobcontracts.sims.interrogation.run import Simulation
from jobcontracts.sims.interrogation.stream import EventStream
from jobcontracts.sims.variant import Variant, as_variant

DEFAULT_API_KEY = ""
BASE_URL = "https://interrogation.sim"
MAX_RECORDED_CALLS = 2000
MAX_SIMULATIONS = 10_000
SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
_LAST_EVENT_ID = re.compile(r"-?[0-9]{1,18}")


@dataclass
class Ctx:
    """One request being handled."""

    request: httpx.Request
    now: float


Handler = Callable[..., httpx.Response]


class InterrogationSimulator:
    """An in-process Interrogation Agent API. Route an httpx client to it with
    `httpx.MockTransport(sim.handle)`, or serve it with `SimulatorApp`."""

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
        self.choices = Choices.of(self.variant)
        if "catalog-id-rejected" in self.faults:
            # The retired id is listed, so IA-REQ-1 takes it for a known one:
            # look it up last, or its 404 would also show as IA-REQ-1's.
            self.choices = dataclasses.replace(self.choices, check_order=CHECKS)
        self.catalog = Catalog(self.choices.catalog_size, self.choices.catalog_order,
                               self.choices.extra_fields_in_answers)
        self.api_keys = tuple(api_keys)
        self._rng = random.Random(seed)
        self._mint = UuidMint(random.Random(self._rng.getrandbits(64)))
        self.simulations: dict[str, Simulation] = {}
        self.bucket = None if rate_limit is None else TokenBucket(clock, *rate_limit)
        self._lock = threading.RLock()
        self._last_now = clock.now()
        self.router = SimRouter(MAX_RECORDED_CALLS)
        self._install_routes()
        self.handle: Callable[[httpx.Request], httpx.Response] = self.router.handler

    # ------------------------------------------------------------------ routing

    def _install_routes(self) -> None:
        one = r"/api/simulations/(?P<simulation_id>[^/]+)"
        table: list[tuple[str, str, str, Handler]] = [
            ("list_stakeholders", "GET", r"^/api/stakeholders\Z", self._stakeholders),
            ("create_simulation", "POST", r"^/api/simulations\Z", self._create),
            ("get_simulation", "GET", rf"^{one}\Z", self._get),
            ("stream_events", "GET", rf"^{one}/events\Z", self._events),
        ]
        self.router.mount(table, lambda _name, handler: self._wrap(handler), self._fallback)

    def _wrap(self, handler: Handler) -> Callable[..., httpx.Response]:
        def side_effect(request: httpx.Request, **params: str) -> httpx.Response:
            with self._lock:
                try:
                    now = max(self.clock.now(), self._last_now)
                    self._last_now = now
                    self._rate_limit(now)
                    return handler(Ctx(request, now), **params)
                except ApiError as exc:
                    return self._error(exc.status, exc.code, exc.message, exc.headers)
                except Exception as exc:  # a simulator bug must not escape as an exception
                    return self._error(
                        500, "INTERNAL_ERROR", f"simulator error: {type(exc).__name__}: {exc}"
                    )

        return side_effect

    def _json(self, status: int, body: Any, headers: Mapping[str, str] | None = None,
              ) -> httpx.Response:
        return json_response(status, body, headers=headers, content_type=self.choices.json_type)

    def _error(self, status: int, code: str, message: str,
               headers: Mapping[str, str] | None = None) -> httpx.Response:
        """A JSON error in the variant's shape (the document gives none)."""
        shape = self.choices.error_shape
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        if shape == "detail":
            body = {"detail": message}
        elif shape == "flat":
            body = {"error": code, "message": message}
        return self._json(status, body, headers)

    def _new_id(self) -> str:
        minted = self._mint()
        if self.choices.simulation_id == "hex":
            return minted.replace("-", "")
        if self.choices.simulation_id == "prefixed":
            return "sim_" + minted.replace("-", "")[:24]
        return minted

    def _rate_limit(self, now: float) -> None:
        if self.bucket is None:
            return
        wait = self.bucket.take("", now)
        if wait is not None:
            headers = {"Retry-After": str(TokenBucket.retry_after(wait))}
            raise ApiError(429, "RATE_LIMITED", "too many requests", headers)

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

    def _simulation(self, simulation_id: str) -> Simulation:
        simulation = self.simulations.get(simulation_id)
        if simulation is None:
            raise ApiError(404, "SIMULATION_NOT_FOUND", f"no simulation {simulation_id!r}")
        return simulation

    # ------------------------------------------------------------------ endpoints

    def _stakeholders(self, ctx: Ctx) -> httpx.Response:
        return self._json(200, self.catalog.catalog(self.faults))

    def _create(self, ctx: Ctx) -> httpx.Response:
        try:
            body = parse_json_object(ctx.request.content)
        except BodyError as exc:
            raise ApiError(400, "INVALID_REQUEST", str(exc)) from None
        request = parse_request(body, self.faults, self.choices, self.variant, self.catalog)
        if len(self.simulations) >= MAX_SIMULATIONS:
            del self.simulations[next(iter(self.simulations))]
        simulation_id = self._new_id()
        rng = random.Random(self._rng.getrandbits(64))
        self.simulations[simulation_id] = Simulation(
            simulation_id, ctx.now, request, rng, self.faults, self.choices
        )
        path = f"/api/simulations/{simulation_id}"
        if self.choices.absolute_urls:
            url = ctx.request.url
            path = f"{url.scheme}://{url.netloc.decode('ascii')}{path}"
        details = f"{path}/details" if "details-url-broken" in self.faults else path
        answer: dict[str, Any] = {
            "simulation_id": simulation_id,
            "status": "running",
            "events_url": f"{path}/events",
            "details_url": details,
        }
        if self.choices.extra_fields_in_answers:
            answer["max_interview_messages"] = request.max_messages
        return self._json(200 if "created-200" in self.faults else 202, answer)

    def _get(self, ctx: Ctx, simulation_id: str) -> httpx.Response:
        return self._json(200, self._simulation(simulation_id).status(ctx.now))

    def _events(self, ctx: Ctx, simulation_id: str) -> httpx.Response:
        simulation = self._simulation(simulation_id)
        header = ctx.request.headers.get("last-event-id", "").strip()
        last_event_id = int(header) if _LAST_EVENT_ID.fullmatch(header) else None
        c = self.choices
        eol = c.line_ending
        pings = {"comment": f": keep-alive{eol}", "comment_blank": f": ping{eol}{eol}",
                 "bare": f":{eol}"}
        ping = pings[c.keepalive].encode("ascii") if c.keepalive in pings else None
        stream = EventStream(
            self.clock,
            simulation.created,
            simulation.connected(ctx.now),
            simulation.frames_after(last_event_id),
            simulation.stream_ends,
            keepalive=c.keepalive_seconds,
            ping=ping,
            linger=c.end_linger,
        )
        headers = {"Content-Type": c.sse_type, **SSE_HEADERS}
        return httpx.Response(200, headers=headers, stream=stream)
