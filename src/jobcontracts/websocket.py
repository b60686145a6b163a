"""WebSocket connections: read into one exchange, and served in-process.

One connection is one `Exchange`: the upgrade request, the `101` (or the
refusal, a normal answer) and every message, stamped with the run's clock as
it arrives (`Exchange.ws_messages`, `ws_close_code`). `Client.websocket` sends
the upgrade through the suite's own httpx client and hands a `101` to
`WsReader`.

Why not `httpx_ws.connect_ws` as it is: its sync session reads the socket in a
background thread, into a queue, as fast as the server sends. In-process the
"server" is a simulator on a virtual clock, so that thread would pull events
(and move the clock, and the job with it) ahead of the client, and stamp
nothing: times, and where a deadline cuts a stream, would depend on thread
scheduling. And `connect_ws` closes a refused upgrade before its body can be
read, which the auth rules judge. So the handshake is an ordinary request, and
`WsReader` drives httpx-ws's `WebSocketSession` (its wsproto connection, its
close handshake) without entering it, reading frames in the caller's thread,
one at a time, with a read timeout so that no silence hangs a run. No thread,
no wall-clock wait: in-process every read is a `channel.receive()` on the
virtual clock, so a run is exactly reproducible.

In-process, `SimulatorTransport` is `httpx.MockTransport(sim.handle)` that
answers an upgrade request with `sim.connect_events(request)`: a refusal is
returned as it is; an `EventChannel` becomes a `101` whose `network_stream` is
a `ChannelStream`, which speaks the WebSocket protocol (wsproto, server side)
over the channel.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpcore
import httpx
import wsproto
import wsproto.events as ws_events
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.utilities import generate_accept_token

from .clock import Clock, VirtualClock
from .trace import HUNG_UP, WsMessage

if TYPE_CHECKING:
    from httpx_ws import WebSocketSession

#: How much one read takes from the network.
READ_BYTES = 65_536
#: A server that sends this many messages without closing (or moving the clock
#: past the deadline) is cut off: no stream can keep a run busy forever.
MAX_MESSAGES = 10_000


class EventChannel(Protocol):
    """The server side of one events connection, sans-IO (what a simulator's
    `connect_events` returns)."""

    close_code: int | None

    def receive(self) -> str | bytes | None:
        """The next text message (bytes: a binary one), waiting on the
        simulator's clock; None once the server closed (then `close_code`
        says how)."""
        ...

    def close(self) -> None:
        """The client went away."""
        ...


def is_upgrade(request: httpx.Request) -> bool:
    upgrade: str = request.headers.get("upgrade", "")
    return upgrade.strip().lower() == "websocket"


def upgrade_headers(seed: str) -> dict[str, str]:
    """The handshake's headers. The key is derived from `seed` (the URL and
    the exchange's number), not random, so that a seeded run sends the same
    requests every time and a recording replays."""
    key = base64.b64encode(hashlib.sha256(seed.encode()).digest()[:16]).decode("ascii")
    return {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13"}


# --------------------------------------------------------------------------- client side


@dataclass
class WsReader:
    """Reads one accepted connection until the server closes it or a reason to
    stop: `deadline` s with no `until` message (its JSON `name_key`), `grace`
    s after one without the close (or at once, unless `until_close`), or after
    `stop_after` messages (the client hangs up on purpose). `messages` and
    `close_code` hold what came, whatever the reason."""

    clock: Clock
    deadline: float
    until: Collection[str] = ()
    grace: float = 5.0
    until_close: bool = True
    stop_after: int | None = None
    name_key: str = "type"
    read_timeout: float = 30.0
    """The longest one read waits on the network; on a clock that does not
    move meanwhile (a virtual one), silence that long ends the read."""
    messages: list[WsMessage] = field(default_factory=list)
    close_code: int | None = None

    def read(self, response: httpx.Response, started: float) -> str | None:
        """Read a `101` answer's connection; None when the server closed it,
        else why the client stopped. The client's close frame is sent either way."""
        from httpx_ws import WebSocketSession

        stream = response.extensions.get("network_stream")
        if not isinstance(stream, httpcore.NetworkStream):
            return "no connection behind the 101 (the transport cannot upgrade)"
        session = WebSocketSession(stream, response=response,
                                   keepalive_ping_interval_seconds=None)
        try:
            reason = self._read(session, started)
        except (httpcore.NetworkError, httpcore.TimeoutException) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        except wsproto.utilities.LocalProtocolError as exc:
            reason = f"protocol error: {exc}"
        self._close(session, reason)
        return reason

    def _read(self, session: WebSocketSession, started: float) -> str | None:
        connection, stream = session.connection, session.stream
        parts: list[str | bytes] = []
        terminal_at: float | None = None
        while True:
            for event in connection.events():
                if isinstance(event, ws_events.CloseConnection):
                    if connection.state is ConnectionState.OPEN:  # wsproto could not parse
                        return f"protocol error: {event.reason or event.code}"
                    self.close_code = int(event.code)
                    return None
                if isinstance(event, ws_events.Ping):
                    stream.write(connection.send(event.response()))
                    continue
                if not isinstance(event, ws_events.Message):
                    continue
                parts.append(event.data if isinstance(event.data, str) else bytes(event.data))
                if not event.message_finished:
                    continue
                data: str | bytes = "".join(p for p in parts if isinstance(p, str)) if \
                    isinstance(event, ws_events.TextMessage) else \
                    b"".join(p for p in parts if isinstance(p, bytes))
                parts = []
                message = WsMessage("receive", self.clock.now(), data)
                self.messages.append(message)
                if terminal_at is None and self._is_terminal(message):
                    terminal_at = message.time
                    if not self.until_close:
                        return f"{HUNG_UP} after the terminal message"
                if self.stop_after is not None and len(self.messages) >= self.stop_after:
                    return f"{HUNG_UP} after {len(self.messages)} message(s)"
                if len(self.messages) >= MAX_MESSAGES:
                    return f"stream deadline: {MAX_MESSAGES} messages and no close"
                late = self._late(started, terminal_at)
                if late:
                    return late
            before = self.clock.now()
            wait = min(self.read_timeout, max(0.05, self._left(started, terminal_at)))
            try:
                data_in = stream.read(READ_BYTES, timeout=wait)
            except httpcore.ReadTimeout:
                late = self._late(started, terminal_at)
                if late:
                    return late
                if self.clock.now() - before < wait / 2:  # a clock that did not move
                    return f"timed out (no message within {wait:g} s)"
                continue
            if not data_in:
                return "connection closed without a close frame"
            connection.receive_data(data_in)

    def _is_terminal(self, message: WsMessage) -> bool:
        data = message.json
        return isinstance(data, dict) and data.get(self.name_key) in self.until

    def _left(self, started: float, terminal_at: float | None) -> float:
        """Seconds until the limit in force (the deadline, or the grace)."""
        if terminal_at is not None:
            return self.grace - (self.clock.now() - terminal_at)
        return self.deadline - (self.clock.now() - started)

    def _late(self, started: float, terminal_at: float | None) -> str | None:
        now = self.clock.now()
        if terminal_at is not None and now - terminal_at > self.grace:
            return f"stream deadline: still open {self.grace:g} s after the terminal message"
        if terminal_at is None and now - started > self.deadline:
            return f"stream deadline: no terminal message within {self.deadline:g} s"
        return None

    @staticmethod
    def _close(session: WebSocketSession, reason: str | None) -> None:
        """Answer the server's close, or send ours (1000 when hanging up or at a
        deadline, 1002 after a protocol error), then drop the connection."""
        code = 1002 if reason and reason.startswith("protocol error") else 1000
        try:
            session.close(code)
        except (httpcore.NetworkError, httpcore.TimeoutException,
                wsproto.utilities.LocalProtocolError):
            session.stream.close()


# --------------------------------------------------------------------------- in-process


class ChannelStream(httpcore.NetworkStream):
    """The server end of an in-memory connection: each read is one frame of
    the channel's next message (or its close), as wsproto writes it; what the
    client writes is parsed, so its close frame reaches `channel.close()`."""

    def __init__(self, channel: EventChannel) -> None:
        self.channel = channel
        self._server = Connection(ConnectionType.SERVER)
        self._pending = b""
        self._server_closed = self._client_gone = False

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if not self._pending and not self._server_closed and not self._client_gone:
            data: str | bytes | None = self.channel.receive()
            if data is None:
                self._server_closed = True
                code = self.channel.close_code or 1000
                self._pending += self._server.send(ws_events.CloseConnection(code=code))
            elif isinstance(data, bytes):  # a recording's binary message
                self._pending += self._server.send(ws_events.BytesMessage(data=data))
            else:
                self._pending += self._server.send(ws_events.TextMessage(data=data))
        chunk, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return chunk

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._server.state is ConnectionState.CLOSED:
            return
        self._server.receive_data(buffer)
        for event in self._server.events():
            if isinstance(event, ws_events.CloseConnection):
                if not self._server_closed:
                    self._hang_up()
                if self._server.state is ConnectionState.REMOTE_CLOSING:
                    self._server.send(event.response())
            elif isinstance(event, ws_events.Ping):
                self._pending += self._server.send(event.response())

    def close(self) -> None:
        if not self._server_closed:
            self._hang_up()

    def _hang_up(self) -> None:
        if not self._client_gone:
            self._client_gone = True
            self.channel.close()

    def get_extra_info(self, info: str) -> Any:
        return None


class SimulatorTransport(httpx.MockTransport):
    """`httpx.MockTransport(simulator.handle)`, plus WebSocket upgrades answered
    by `simulator.connect_events(request)` when the simulator has it."""

    def __init__(self, simulator: Any) -> None:
        super().__init__(simulator.handle)
        self.simulator = simulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        connect = getattr(self.simulator, "connect_events", None)
        if not (is_upgrade(request) and callable(connect)):
            return super().handle_request(request)
        request.read()
        answer = connect(request)
        if isinstance(answer, httpx.Response):
            return answer
        return switching_protocols(request, ChannelStream(answer))


def switching_protocols(request: httpx.Request, stream: httpcore.NetworkStream) -> httpx.Response:
    """The `101` accepting `request`, with `stream` as its connection."""
    key = request.headers.get("sec-websocket-key", "").encode("ascii", errors="replace")
    return httpx.Response(101, headers={
        "Upgrade": "websocket", "Connection": "Upgrade",
        "Sec-WebSocket-Accept": generate_accept_token(key).decode("ascii")},
        extensions={"network_stream": stream}, request=request)


class RecordedChannel:
    """A recorded connection played back (`pytest --replay`): each received
    message at its time on the replay's clock, then the recorded close. A
    recording the client cut short replays to the same cut, since the same
    messages arrive at the same times."""

    def __init__(self, messages: Iterable[WsMessage], close_code: int | None,
                 clock: VirtualClock, shift: float = 0.0) -> None:
        self._messages = [m for m in messages if m.direction == "receive"]
        self._recorded_close = close_code
        self.close_code: int | None = None
        self.clock, self.shift = clock, shift

    def receive(self) -> str | bytes | None:
        if not self._messages:
            self.close_code = self._recorded_close or 1000
            return None
        message = self._messages.pop(0)
        lag = message.time + self.shift - self.clock.now()
        if lag > 0:
            self.clock.advance(lag)
        return message.data

    def close(self) -> None:
        self._messages.clear()


def simulator_transport(simulator: Any) -> httpx.BaseTransport:
    """The in-process transport for a simulator: WebSocket-capable when it is."""
    if callable(getattr(simulator, "connect_events", None)):
        return SimulatorTransport(simulator)
    return httpx.MockTransport(simulator.handle)
