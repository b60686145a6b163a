"""Building blocks shared by the embedded API simulators.

Nothing here reads the wall clock: time comes from a `Clock`, randomness from
a seeded `random.Random`, so a simulator is deterministic given its seed, its
clock and the requests it is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import httpx

from jobcontracts.clock import Clock, iso, wall_time

__all__ = [
    "JSON_CONTENT_TYPE",
    "ApiError",
    "BodyError",
    "Call",
    "Fault",
    "SimRouter",
    "TokenBucket",
    "UrlSigner",
    "UuidMint",
    "bearer_token",
    "canonical_json",
    "checked_fault_names",
    "error_body",
    "error_response",
    "iso",
    "json_response",
    "looks_like_uuid",
    "parse_json",
    "parse_json_object",
    "retry_after_value",
]

JSON_CONTENT_TYPE = "application/json"


# --------------------------------------------------------------------------- responses


def json_response(
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    content_type: str = JSON_CONTENT_TYPE,
) -> httpx.Response:
    """A response whose body is `body` as JSON (ASCII-escaped, so any string,
    even one holding a lone surrogate, encodes) with the given Content-Type."""
    content = json.dumps(body, ensure_ascii=True).encode("ascii")
    all_headers = {"Content-Type": content_type}
    if headers:
        all_headers.update(headers)
    return httpx.Response(status, content=content, headers=all_headers)


def error_body(code: str, message: str, *, bare: bool = False) -> dict[str, Any]:
    """The error envelope `{"error": {"code", "message"}}`; `bare` gives the
    non-conforming `{"detail": message}` some servers send instead."""
    if bare:
        return {"detail": message}
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    bare: bool = False,
) -> httpx.Response:
    return json_response(status, error_body(code, message, bare=bare), headers=headers)


class ApiError(Exception):
    """Raised by simulator code to answer with a JSON error."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


# --------------------------------------------------------------------------- requests


class BodyError(ValueError):
    """A request body that is not the JSON the endpoint wants."""


def _reject_constant(name: str) -> Any:
    raise BodyError(f"{name} is not valid JSON")


def parse_json(content: bytes) -> Any:
    """Parse a JSON body strictly (no NaN/Infinity); any failure is a `BodyError`."""
    try:
        return json.loads(content, parse_constant=_reject_constant)
    except BodyError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, ...
        raise BodyError(f"request body is not valid JSON: {exc}") from None


def parse_json_object(content: bytes, *, allow_empty: bool = False) -> dict[str, Any]:
    """Parse a body that must be a JSON object; an empty body is `{}` if allowed."""
    if not content.strip():
        if allow_empty:
            return {}
        raise BodyError("request body is empty; expected a JSON object")
    value = parse_json(content)
    if not isinstance(value, dict):
        raise BodyError(f"request body must be a JSON object, not {type(value).__name__}")
    return value


def canonical_json(value: Any) -> str:
    """A canonical text of a parsed JSON value: equal texts mean equal JSON values
    (object key order ignored; 1, 1.0 and true kept apart)."""
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    except (ValueError, RecursionError):
        raise BodyError("request body is nested too deeply") from None


def bearer_token(request: httpx.Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    value = request.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """One deliberate defect: its kebab-case name, the rule it breaks, what it does.

    Each simulator's faults break exactly one contract rule each (and the
    `also` rules, where one answer breaks several) and leave every other rule
    intact: a suite run against the faulty simulator must fail on those rules
    and on no other."""

    name: str
    rule: str
    summary: str
    also: tuple[str, ...] = ()
    """Rules the fault legitimately breaks too (a `500` where a rule demands a
    `404` breaks that rule and the no-5xx rule alike)."""
    load_only: bool = False
    """Only concurrent traffic shows it (`jobcontracts load --sim-fault`): it
    lives in the served path (`jobcontracts.load.racing`), not in the
    simulator, and is listed in the API's `LOAD_FAULTS`, not its `FAULTS`."""

    @property
    def rules(self) -> frozenset[str]:
        return frozenset((self.rule, *self.also))


def checked_fault_names(names: Iterable[str] | None, known: Mapping[str, Fault],
                        api: str) -> frozenset[str]:
    """The chosen fault names; an unknown one is a `ValueError` listing the valid names."""
    if names is None:
        return frozenset()
    if isinstance(names, str):
        names = (names,)
    chosen = frozenset(names)
    unknown = sorted(name for name in chosen if name not in known)
    if unknown:
        raise ValueError(f"unknown {api} fault(s) {', '.join(map(repr, unknown))}; "
                         f"valid names: {', '.join(sorted(known))}")
    return chosen


# --------------------------------------------------------------------------- helpers


class UuidMint:
    """Version-4 UUIDs drawn from a seeded generator: reproducible ids."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


class TokenBucket:
    """A token bucket per key (e.g. per API key) on a `Clock`.

    `capacity` tokens at most; `refill_per_second` tokens come back each
    second. `take` spends one token, or says how long until one is there.
    """

    _EPSILON = 1e-9

    def __init__(self, clock: Clock, capacity: float, refill_per_second: float) -> None:
        if capacity < 1:
            raise ValueError(f"bucket capacity must be at least 1, got {capacity}")
        if refill_per_second <= 0:
            raise ValueError(f"refill rate must be positive, got {refill_per_second}")
        self.clock = clock
        self.capacity = float(capacity)
        self.refill_per_second = float(refill_per_second)
        self._state: dict[str, tuple[float, float]] = {}

    def tokens(self, key: str, now: float | None = None) -> float:
        now = self.clock.now() if now is None else now
        tokens, last = self._state.get(key, (self.capacity, now))
        return min(self.capacity, tokens + max(0.0, now - last) * self.refill_per_second)

    def take(self, key: str, now: float | None = None) -> float | None:
        """Spend a token: `None` when served, else the seconds until a token is back
        (the bucket is then left exactly as it was)."""
        now = self.clock.now() if now is None else now
        tokens = self.tokens(key, now)
        if tokens >= 1.0 - self._EPSILON:
            self._state[key] = (max(0.0, tokens - 1.0), now)
            return None
        return (1.0 - tokens) / self.refill_per_second

    @staticmethod
    def retry_after(wait: float, cap: int = 3600) -> int:
        """Whole seconds for a `Retry-After` header: rounded up, at least 1, at
        most `cap` (a client may then be refused again, and wait again)."""
        return min(cap, max(1, math.ceil(wait - 1e-9)))


def retry_after_value(clock: Clock, now: float, wait: float, as_date: bool) -> str:
    """A `Retry-After` value: delay-seconds, or an HTTP-date (RFC 9110 §10.2.3)
    rounded up to the next whole second, on the client's wall clock."""
    if not as_date:
        return str(TokenBucket.retry_after(wait))
    seconds = TokenBucket.retry_after(wait, cap=3600 - 2)
    return formatdate(math.ceil(wall_time(clock, now + seconds)) + 1, usegmt=True)


class UrlSigner:
    """Short-lived signed URLs in the style of a blob store's SAS token:
    `?se=<expiry unix>&sp=r&sig=<hmac-sha256 hex of path and se>`."""

    def __init__(self, secret: bytes, ttl_seconds: float = 600.0) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def signature(self, path: str, expires: int, permissions: str = "r") -> str:
        message = f"{path}\n{expires}\n{permissions}".encode("utf-8", "replace")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def query(self, path: str, now: float) -> str:
        expires = int(now + self.ttl_seconds)
        return f"se={expires}&sp=r&sig={self.signature(path, expires)}"

    def check(self, path: str, params: httpx.QueryParams, now: float) -> str | None:
        """`None` for a valid, unexpired signature; otherwise why it is refused."""
        se, sp, sig = params.get("se"), params.get("sp"), params.get("sig")
        if se is None or sp is None or sig is None:
            return "the URL is not signed (se, sp and sig are required)"
        if not se.isascii() or not se.isdigit() or len(se) > 12:
            return "se is not a unix time"
        expected = self.signature(path, int(se), sp)
        given = sig.encode("utf-8", "replace")
        if sp != "r" or not hmac.compare_digest(expected.encode("ascii"), given):
            return "signature mismatch"
        if int(se) < now:
            return f"the signed URL expired at {iso(int(se))}"
        return None


def looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Call:
    """One request a simulator answered, and its answer."""

    request: httpx.Request
    response: httpx.Response


class SimRouter:
    """A simulator's routes: the first whose method and path pattern match a
    request answers it, with the pattern's named groups as keyword arguments
    (as a respx route hands them to its side effect); the fallback answers the
    rest. Its call history stays bounded, for a served simulator may see
    millions of requests.

    A respx `Router` did this before: 3.3 ms to build a SpecStep simulator (a
    mock per route) and 0.30 ms to answer a request, against 0.12 ms and
    0.10 ms now (measured side by side, one loaded machine); the suite builds
    a simulator per example, so that was a tenth of a jobs run."""

    def __init__(self, max_calls: int = 2000) -> None:
        self.calls: deque[Call] = deque(maxlen=max_calls)
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., httpx.Response]]] = []
        self._fallback: Callable[[httpx.Request], httpx.Response] | None = None

    def mount(self, table: Iterable[tuple[str, str, str, Any]],
              side_effect: Callable[[str, Any], Callable[..., httpx.Response]],
              fallback: Any) -> None:
        """Route each `(name, method, path regex, handler)` through
        `side_effect(name, handler)`, and every other request to `fallback`."""
        for name, method, regex, handler in table:
            self._routes.append((method, re.compile(regex), side_effect(name, handler)))
        self._fallback = side_effect("fallback", fallback)

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        method = request.method
        for route_method, regex, effect in self._routes:
            if route_method == method and (match := regex.search(path)) is not None:
                response = effect(request, **match.groupdict())
                break
        else:
            if self._fallback is None:
                raise LookupError(f"no route answers {method} {path}")
            response = self._fallback(request)
        self.calls.append(Call(request, response))
        return response

    def allowed(self, path: str) -> list[str]:
        """The methods some route takes at `path` (a `405`'s `Allow`), if any."""
        return sorted({method for method, regex, _ in self._routes if regex.search(path)})
