"""The recording HTTP client every driver uses.

It adds the credential, honours `Retry-After` on every `429` (sleeping on the
clock, so a virtual clock costs nothing), stops at the budget, and records
every exchange, including the `429`s it retried and the transport errors that
took the place of an answer. It never raises on what a server sends.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import httpx

from .budget import Allowance
from .clock import Clock
from .oracles.http import retry_after_seconds
from .trace import Exchange, Trace

INVALID_KEY = "sf_jobcontracts_invalid_key"
_UNSET: Any = object()


class Client:
    def __init__(self, *, base_url: str, api_key: str, clock: Clock, trace: Trace,
                 transport: httpx.BaseTransport | None = None,
                 auth_header: str = "Authorization", auth_scheme: str = "Bearer",
                 timeout: float = 30.0, max_429_tries: int = 5,
                 requests: Allowance | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key, self.clock, self.trace = api_key, clock, trace
        self.auth_header, self.auth_scheme = auth_header, auth_scheme
        self.max_429_tries = max_429_tries
        self.requests = requests
        self._http = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, *, json: Any = _UNSET,
                content: bytes | None = None, headers: Mapping[str, str] | None = None,
                credential: str = "valid", note: str = "") -> Exchange:
        """Send to the API; retry `429`s as `Retry-After` says; return the last exchange."""
        url = self.base_url + path
        head = {"Accept": "application/json", **(headers or {})}
        body = content
        if json is not _UNSET:
            body = jsonlib.dumps(json).encode()
            head.setdefault("Content-Type", "application/json")
        if credential == "valid":
            head[self.auth_header] = self._credential(self.api_key)
        elif credential == "invalid":
            head[self.auth_header] = self._credential(INVALID_KEY)
        exchange = self._send(method, url, head, body or b"", "api", credential, note)
        tries = 0
        while exchange.status == 429 and tries < self.max_429_tries:
            tries += 1
            self.clock.sleep(retry_after_seconds(exchange) or float(2**tries))
            exchange = self._send(method, url, head, body or b"", "api", credential, note)
        return exchange

    def fetch(self, url: str, *, note: str = "") -> Exchange:
        """GET a URL with no credential (a presigned download). It is not the
        API's answer, so the API's generic rules do not judge it."""
        absolute = urljoin(self.base_url + "/", url)
        return self._send("GET", absolute, {}, b"", "external", "none", note)

    def _credential(self, key: str) -> str:
        return f"{self.auth_scheme} {key}" if self.auth_scheme else key

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: bytes,
              origin: str, credential: str, note: str) -> Exchange:
        if self.requests is not None:
            self.requests.take()
        started = self.clock.now()
        request = self._http.build_request(method, url, headers=dict(headers), content=body)
        status, response_headers, response_body, error = 0, {}, b"", None
        try:
            response = self._http.send(request)
            try:
                response_body = response.read()
            finally:
                response.close()
            status, response_headers = response.status_code, dict(response.headers)
        except httpx.TimeoutException as exc:
            error = f"timed out ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        exchange = Exchange(
            seq=self.trace.next_seq(), method=method, url=url,
            request_headers=dict(request.headers), request_body=body,
            status=status, response_headers=response_headers, response_body=response_body,
            started_at=started, finished_at=self.clock.now(), origin=origin,
            credential=credential, error=error, note=note)
        self.trace.append(exchange)
        return exchange

