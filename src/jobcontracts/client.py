"""The recording HTTP client every driver uses.

It adds the credential (when the API has one), honours `Retry-After` on every
`429` (sleeping on the clock, so a virtual clock costs nothing; at most the
run's deadline in all), stops at the budget, and records every exchange,
including the `429`s it retried and the transport errors that took the place
of an answer. It never raises on what a server sends.

A server-sent event stream is read line by line (`stream`) and recorded as one
exchange holding the bytes received; the read stops at the terminal event (once
the server has ended the stream, or a grace period after), at a deadline on
the run's clock, or when the driver hangs up, so that no stream can hang a run.
A WebSocket connection (`websocket`) is one exchange too, its messages stamped
as they arrive (see `websocket.py`), read under the same kinds of limits.
"""

from __future__ import annotations

import codecs
import functools
import json as jsonlib
import ssl
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin

import httpx
from httpx_sse._decoders import SSELineDecoder

from .budget import Allowance
from .clock import Clock
from .oracles.http import retry_after_seconds
from .trace import HUNG_UP, Exchange, OwnIdDecoder, Trace, event_name

if TYPE_CHECKING:
    from .websocket import WsReader

INVALID_KEY = "sf_jobcontracts_invalid_key"
_UNSET: Any = object()


class Client:
    def __init__(self, *, base_url: str, api_key: str, clock: Clock, trace: Trace,
                 transport: httpx.BaseTransport | None = None,
                 auth_header: str | None = "Authorization", auth_scheme: str = "Bearer",
                 timeout: float = 30.0, max_429_tries: int = 5,
                 max_429_wait: float | None = None,
                 requests: Allowance | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key, self.clock, self.trace = api_key, clock, trace
        self.auth_header, self.auth_scheme = auth_header, auth_scheme
        self.max_429_tries = max_429_tries
        self.max_429_wait = max_429_wait
        """The most this client sleeps honouring `Retry-After`, over all its
        requests (the run's deadline): a limit that never lifts, or one that
        asks for an hour each time, cannot make a run sleep for hours."""
        self.waited = 0.0
        self.requests = requests
        self._http = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False,
                                  verify=_ssl_context())
        self._in_process = transport if isinstance(transport, httpx.MockTransport) else None
        """A simulator's or a replay's transport: no connection, cookie or redirect
        for `httpx.Client.send` to handle, so requests go to it directly (about a
        third of httpx's cost per in-process request)."""

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, *, json: Any = _UNSET,
                content: bytes | None = None, headers: Mapping[str, str] | None = None,
                credential: str = "valid", note: str = "") -> Exchange:
        """Send to the API; retry `429`s as `Retry-After` says; return the last
        exchange. `path` is a path under the base URL, or an absolute URL of
        the API (one an answer pointed to)."""
        url = self._url(path)
        head = self._headers({"Accept": "application/json", **(headers or {})}, credential)
        body = content
        if json is not _UNSET:
            body = jsonlib.dumps(json).encode()
            head.setdefault("Content-Type", "application/json")
        return self._retrying(lambda: self._send(method, url, head, body or b"", "api",
                                                 credential, note))

    def stream(self, method: str, path: str, *, headers: Mapping[str, str] | None = None,
               until: Collection[str] = (), deadline: float, grace: float = 5.0,
               stop_after: int | None = None, name_key: str = "event",
               credential: str = "valid", note: str = "") -> Exchange:
        """Read a server-sent event stream into one exchange.

        The read ends when the server ends the stream; or `grace` s after an
        event named in `until` (its data's `name_key`), if the server has not
        ended it by then; or `deadline` s after the request with no such event;
        or, on purpose, after `stop_after` events. Times are the run's clock.
        Every way but the first leaves the reason in `Exchange.error`."""
        url = self._url(path)
        head = self._headers({"Accept": "text/event-stream", "Cache-Control": "no-store",
                              **(headers or {})}, credential)
        return self._retrying(lambda: self._send(
            method, url, head, b"", "api", credential, note,
            reader=_StreamReader(self.clock, set(until), deadline, grace, stop_after,
                                 name_key)))

    def websocket(self, path: str, *, params: Mapping[str, str | int] | None = None,
                  headers: Mapping[str, str] | None = None, deadline: float,
                  until: Collection[str] = (), grace: float = 5.0, until_close: bool = True,
                  stop_after: int | None = None, name_key: str = "type",
                  credential: str = "valid", note: str = "") -> Exchange:
        """Open a WebSocket connection (the credential on the upgrade request)
        and read it into one exchange, each message stamped as it arrives.

        The read ends when the server closes the connection; or `grace` s
        after a message whose JSON `name_key` is in `until` if the server has
        not closed by then (at once, hanging up, unless `until_close`); or
        `deadline` s after the request with no such message; or, on purpose,
        after `stop_after` messages. Every way but the first leaves the reason
        in `Exchange.error`. A refused upgrade (`401`, `404`) is an ordinary
        exchange with its body."""
        from .websocket import WsReader, upgrade_headers

        url = self._url(path)
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        head = self._headers({**(headers or {})}, credential)

        def send() -> Exchange:
            head.update(upgrade_headers(f"{url} {self.trace.next_seq()}"))
            reader = WsReader(self.clock, deadline, until, grace, until_close, stop_after,
                              name_key, read_timeout=self._http.timeout.read or 30.0)
            return self._send("GET", url, head, b"", "api", credential, note,
                              websocket=reader)

        return self._retrying(send)

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def _headers(self, head: dict[str, str], credential: str) -> dict[str, str]:
        if not self.auth_header:
            return head  # an API without authentication
        if credential == "valid":
            head[self.auth_header] = self._credential(self.api_key)
        elif credential == "invalid":
            head[self.auth_header] = self._credential(INVALID_KEY)
        return head

    def _retrying(self, send: Callable[[], Exchange]) -> Exchange:
        """Send; while the answer is `429`, wait as `Retry-After` says and send
        again, up to `max_429_tries` times and `max_429_wait` seconds of waiting
        in all. Then the last `429` is returned, for the rate-limit rules to
        judge (a retry sent before the wait is over would prove nothing)."""
        exchange = send()
        tries = 0
        while exchange.status == 429 and tries < self.max_429_tries:
            wait = retry_after_seconds(exchange) or float(2 ** (tries + 1))
            if self.max_429_wait is not None and self.waited + wait > self.max_429_wait:
                break
            tries += 1
            self.clock.sleep(wait)
            self.waited += wait
            exchange = send()
        return exchange

    def fetch(self, url: str, *, note: str = "") -> Exchange:
        """GET a URL with no credential (a presigned download). It is not the
        API's answer, so the API's generic rules do not judge it."""
        absolute = urljoin(self.base_url + "/", url)
        return self._send("GET", absolute, {}, b"", "external", "none", note)

    def _credential(self, key: str) -> str:
        return f"{self.auth_scheme} {key}" if self.auth_scheme else key

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: bytes,
              origin: str, credential: str, note: str,
              reader: _StreamReader | None = None,
              websocket: WsReader | None = None) -> Exchange:
        if self.requests is not None:
            self.requests.take()
        started = self.clock.now()
        request = self._http.build_request(method, _parsed_url(url), headers=dict(headers),
                                           content=body)
        status, response_headers, response_body, error = 0, {}, b"", None
        try:
            if self._in_process is not None:
                response = self._in_process.handle_request(request)
                response.request = request
            else:
                response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            error = _transport_error(exc)
        else:
            streaming = reader is not None and _is_event_stream(response)
            try:
                if websocket is not None and response.status_code == 101:
                    error = websocket.read(response, started)
                elif reader is not None and streaming:
                    error = reader.read(response, started)
                    response_body = bytes(reader.raw)
                else:
                    response_body = response.read()
                status, response_headers = response.status_code, dict(response.headers)
            except httpx.HTTPError as exc:
                error = _transport_error(exc)
                if reader is not None and streaming:  # what came before the failure counts
                    status, response_headers = response.status_code, dict(response.headers)
                    response_body = bytes(reader.raw)
            finally:
                response.close()
        exchange = Exchange(
            seq=self.trace.next_seq(), method=method, url=url,
            request_headers=dict(request.headers), request_body=body,
            status=status, response_headers=response_headers, response_body=response_body,
            started_at=started, finished_at=self.clock.now(), origin=origin,
            credential=credential, error=error, note=note,
            ws_messages=tuple(websocket.messages) if websocket is not None else (),
            ws_close_code=websocket.close_code if websocket is not None else None)
        self.trace.append(exchange)
        return exchange


@functools.lru_cache(maxsize=4096)
def _parsed_url(url: str) -> httpx.URL:
    """httpx parses each request's URL in Python (20 us, a third of building a
    request); a run asks for the same URLs again and again (every poll)."""
    return httpx.URL(url)


def _transport_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def _is_event_stream(response: httpx.Response) -> bool:
    kind: str = response.headers.get("content-type", "")
    return kind.split(";")[0].strip().lower() == "text/event-stream"


class _StreamReader:
    """Reads one SSE answer with httpx-sse's decoders, deciding after every
    line whether to stop. `raw` is every byte received, whatever the reason."""

    def __init__(self, clock: Clock, until: set[str], deadline: float, grace: float,
                 stop_after: int | None, name_key: str) -> None:
        self.clock, self.until, self.deadline, self.grace = clock, until, deadline, grace
        self.stop_after, self.name_key = stop_after, name_key
        self.raw = bytearray()

    def read(self, response: httpx.Response, started: float) -> str | None:
        """Read until the stream ends (None) or a reason to stop (returned)."""
        lines, decoder = SSELineDecoder(), OwnIdDecoder()
        text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        events, terminal_at = 0, None
        for chunk in response.iter_bytes():
            self.raw += chunk
            for line in lines.decode(text.decode(chunk)):
                event = decoder.decode(line)
                if event is not None and event.data:
                    events += 1
                    if terminal_at is None and event_name(event, self.name_key) in self.until:
                        terminal_at = self.clock.now()
                    if self.stop_after is not None and events >= self.stop_after:
                        return f"{HUNG_UP} after {events} event(s)"
                now = self.clock.now()
                if terminal_at is not None and now - terminal_at > self.grace:
                    return f"stream deadline: still open {self.grace:g} s after the terminal event"
                if terminal_at is None and now - started > self.deadline:
                    return f"stream deadline: no terminal event within {self.deadline:g} s"
        return None


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One for the process: loading the CA bundle takes ~50 ms of CPU, and a run
    opens a client for every example."""
    return httpx.create_ssl_context()
