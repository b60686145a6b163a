"""Serve an embedded simulator over real HTTP (starlette on uvicorn).

The simulator speaks `httpx.Request → httpx.Response`; this adapter turns each
ASGI request into an `httpx.Request` and back, so the served simulator is the
very one the in-process suite uses, faults and all. Its clock is real time
scaled by `speed`: at `--speed 60` a 32-minute generation takes 32 seconds.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from .apis import api_support
from .clock import ScaledClock

#: Headers the ASGI server computes itself.
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


class SimulatorApp:
    """An ASGI app forwarding every HTTP request to a simulator's handler."""

    def __init__(self, simulator: Any) -> None:
        self.simulator = simulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            await serve_websocket(self.simulator, scope, receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        outgoing = httpx.Request(request.method, _url(scope),
                                 headers=request.headers.raw, content=body)
        # In a worker thread: requests that race really overlap, as they would on
        # a real server; a simulator holds its own lock for a whole request.
        answer = await run_in_threadpool(self.simulator.handle, outgoing)
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            content = answer.content
        except httpx.ResponseNotRead:
            # A streaming answer (an SSE stream): send each chunk as it comes.
            # starlette pulls the sync iterator in its threadpool and, when the
            # client disconnects, waits for the pull under way, then stops. The
            # answer is closed on the disconnect itself, so that a stream asleep
            # on its clock stops within a slice of its wait, not at its next event.
            async def receive_closing() -> Message:
                message = await receive()
                if message["type"] == "http.disconnect":
                    answer.close()
                return message

            streaming = StreamingResponse(
                answer.iter_raw(), status_code=answer.status_code, headers=headers
            )
            try:
                await streaming(scope, receive_closing, send)
            finally:
                answer.close()
            return
        response = Response(content, status_code=answer.status_code, headers=headers)
        await response(scope, receive, send)


async def serve_websocket(simulator: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """A WebSocket upgrade, answered by `simulator.connect_events(request)`.

    A refusal (an `httpx.Response`) is sent as that HTTP answer through the
    ASGI denial-response extension (uvicorn has it); where the server lacks it
    the connection is closed before it is accepted, with code 4000 + the
    status (4401, 4404), which such servers turn into a `403`. An
    `EventChannel` is accepted and pumped: `channel.receive()` runs in a
    thread (it sleeps on the scaled clock) and each message is sent as a text
    message, until the channel closes (its code) or the client goes away
    (`channel.close()`)."""
    import anyio
    import anyio.abc

    connect = getattr(simulator, "connect_events", None)
    if (await receive())["type"] != "websocket.connect":
        return
    request = httpx.Request("GET", _url({**scope, "scheme": _HTTP_SCHEME.get(
        scope.get("scheme", "ws"), "http")}), headers=scope.get("headers") or [])
    answer = connect(request) if callable(connect) else httpx.Response(404)
    if isinstance(answer, httpx.Response):
        if "websocket.http.response" in (scope.get("extensions") or {}):
            # `Connection: close`: the server drops the connection after a
            # denial, so a client must not send its next request on it.
            await send({"type": "websocket.http.response.start", "status": answer.status_code,
                        "headers": [*((k.encode("latin-1"), v.encode("latin-1"))
                                      for k, v in answer.headers.items()
                                      if k.lower() not in _HOP_BY_HOP),
                                    (b"connection", b"close")]})
            await send({"type": "websocket.http.response.body", "body": answer.read()})
        else:
            await send({"type": "websocket.close", "code": 4000 + answer.status_code})
        return
    channel = answer
    await send({"type": "websocket.accept"})

    async def pump() -> None:
        while True:
            text = await anyio.to_thread.run_sync(channel.receive, abandon_on_cancel=True)
            if text is None:
                await send({"type": "websocket.close", "code": channel.close_code or 1000})
                return
            await send({"type": "websocket.send", "text": text})

    async def watch(group: anyio.abc.TaskGroup) -> None:
        while (await receive())["type"] != "websocket.disconnect":
            pass
        channel.close()
        group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(watch, group)
        try:
            await pump()
        except OSError:  # the client went away mid-send
            channel.close()
        group.cancel_scope.cancel()


_HTTP_SCHEME = {"ws": "http", "wss": "https"}


def _url(scope: Scope) -> httpx.URL:
    """The request's URL as sent: the raw, still percent-encoded path (the
    decoded one may hold control characters no URL can carry)."""
    server = scope.get("server") or ("127.0.0.1", 80)
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    if scope.get("query_string"):
        raw_path += b"?" + scope["query_string"]
    return httpx.URL(scheme=scope.get("scheme", "http"), host=server[0], port=server[1],
                     raw_path=raw_path)


def make_simulator(api: str, *, speed: float = 1.0, faults: Iterable[str] = (),
                   seed: int = 0, api_keys: Iterable[str] = (), variant: int = 0,
                   drifts: Iterable[str] = ()) -> Any:
    from .sims.drift import drifted, resolve_drifts

    support = api_support(api)
    keys = tuple(api_keys) or (support.api_key,)
    return drifted(support.simulator, resolve_drifts(api, drifts), clock=ScaledClock(speed),
                   seed=seed, faults=set(faults), api_keys=keys, variant=variant)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def serve(api: str, *, host: str = "127.0.0.1", port: int = 8000, speed: float = 1.0,
          faults: Iterable[str] = (), seed: int = 0, api_keys: Iterable[str] = (),
          variant: int = 0, log_level: str = "warning", drifts: Iterable[str] = ()) -> None:
    """Serve until interrupted."""
    app = SimulatorApp(make_simulator(api, speed=speed, faults=faults, seed=seed,
                                      api_keys=api_keys, variant=variant, drifts=drifts))
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on")


@contextmanager
def served(api: str, **options: Any) -> Iterator[str]:
    """Serve in a background thread on a free loopback port; yield the base URL."""
    host = options.pop("host", "127.0.0.1")
    port = options.pop("port", None)
    with serving(SimulatorApp(make_simulator(api, **options)), host=host, port=port,
                 name=f"the {api} simulator") as url:
        yield url


@contextmanager
def serving(app: Any, *, host: str = "127.0.0.1", port: int | None = None,
            name: str = "the app") -> Iterator[str]:
    """Serve any ASGI app (a `SimulatorApp` of a wrapped simulator) in a
    background thread; yield the base URL."""
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"jobcontracts-serve-{port}", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"{name} could not start on {host}:{port}")
            threading.Event().wait(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
