"""The client's SSE reader (`Client.stream`) on a virtual clock: it stops at the
terminal event once the server ends the stream, gives up at a deadline, hangs
up on request, keeps what came before a failure, and never hangs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx

from jobcontracts.client import Client
from jobcontracts.clock import VirtualClock
from jobcontracts.trace import HUNG_UP, Exchange, Trace

BASE = "https://sse.test"
TERMINAL = ["simulation.completed", "simulation.error"]


def event(name: str, event_id: int | None = None) -> bytes:
    head = b"" if event_id is None else f"id: {event_id}\n".encode()
    return head + f'event: {name}\ndata: {{"event": "{name}"}}\n\n'.encode()


class Paced(httpx.SyncByteStream):
    """Chunks, each `gap` s apart on the clock; then `tail()` forever, if given."""

    def __init__(self, clock: VirtualClock, chunks: list[bytes], gap: float = 1.0,
                 tail: Callable[[], bytes] | None = None, fail: Exception | None = None) -> None:
        self.clock, self.chunks, self.gap, self.tail, self.fail = clock, chunks, gap, tail, fail
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.clock.sleep(self.gap)
            yield chunk
        if self.fail is not None:
            raise self.fail
        while self.tail is not None and not self.closed:
            self.clock.sleep(self.gap)
            yield self.tail()

    def close(self) -> None:
        self.closed = True


def read(stream: Paced | None = None, *, status: int = 200, body: bytes = b"",
         ctype: str = "text/event-stream", **options: object) -> tuple[Exchange, Paced | None]:
    clock = stream.clock if stream is not None else VirtualClock()

    def answer(request: httpx.Request) -> httpx.Response:
        if stream is None:
            return httpx.Response(status, content=body, headers={"Content-Type": ctype})
        return httpx.Response(status, stream=stream, headers={"Content-Type": ctype})

    client = Client(base_url=BASE, api_key="", clock=clock, trace=Trace(),
                    transport=httpx.MockTransport(answer), auth_header=None)
    kwargs: dict[str, object] = {"until": TERMINAL, "deadline": 600.0, **options}
    ex = client.stream("GET", "/events", **kwargs)  # type: ignore[arg-type]
    assert "authorization" not in {k.lower() for k in ex.request_headers}
    assert ex.request_header("accept") == "text/event-stream"
    return ex, stream


def test_reads_to_the_end_after_the_terminal_event() -> None:
    clock = VirtualClock()
    chunks = [event("sse.connected"), event("simulation.started", 0),
              b": keep-alive\n", event("simulation.completed", 1)]
    ex, _ = read(Paced(clock, chunks))
    assert ex.status == 200 and ex.error is None
    assert ex.response_body == b"".join(chunks)
    assert [e.event for e in ex.events] == ["sse.connected", "simulation.started",
                                            "simulation.completed"]
    assert ex.finished_at - ex.started_at == 4.0


def test_a_stream_without_end_stops_at_the_deadline() -> None:
    clock = VirtualClock()
    ex, stream = read(Paced(clock, [event("sse.connected")], gap=15,
                            tail=lambda: b": keep-alive\n"), deadline=100.0)
    assert ex.status == 200 and ex.error == "stream deadline: no terminal event within 100 s"
    assert [e.event for e in ex.events] == ["sse.connected"]
    assert stream is not None and stream.closed
    assert 100 < ex.finished_at - ex.started_at <= 115


def test_a_stream_left_open_after_the_terminal_event_stops_after_the_grace() -> None:
    clock = VirtualClock()
    ex, stream = read(Paced(clock, [event("sse.connected"), event("simulation.error", 0)],
                            tail=lambda: b": keep-alive\n"), grace=5.0)
    assert ex.error == "stream deadline: still open 5 s after the terminal event"
    assert stream is not None and stream.closed


def test_events_after_the_terminal_event_are_kept() -> None:
    clock = VirtualClock()
    chunks = [event("simulation.completed", 0), event("agent.update", 1)]
    ex, _ = read(Paced(clock, chunks))
    assert ex.error is None and [e.id for e in ex.events] == ["0", "1"]


def test_hanging_up_after_k_events() -> None:
    clock = VirtualClock()
    ex, stream = read(Paced(clock, [event("a", 0), event("b", 1), event("c", 2)]),
                      stop_after=2)
    assert ex.error == f"{HUNG_UP} after 2 event(s)"
    assert [e.id for e in ex.events] == ["0", "1"]
    assert stream is not None and stream.closed


def test_a_failure_mid_stream_keeps_what_came_before() -> None:
    clock = VirtualClock()
    ex, _ = read(Paced(clock, [event("sse.connected"), event("x", 0)],
                       fail=httpx.ReadTimeout("slow")))
    assert ex.status == 200 and ex.error == "timed out (ReadTimeout)"
    assert len(ex.events) == 2


def test_lines_and_characters_split_across_chunks() -> None:
    clock = VirtualClock()
    whole = 'id: 7\r\nevent: x\r\ndata: {"event": "x", "text": "caf\u00e9 \U0001f389"}\r\n\r\n'
    raw = whole.encode()
    ex, _ = read(Paced(clock, [raw[i : i + 3] for i in range(0, len(raw), 3)], gap=0))
    (only,) = ex.events
    assert (only.id, only.event) == ("7", "x") and "caf\u00e9 \U0001f389" in only.data


def test_an_answer_that_is_not_a_stream_is_read_whole() -> None:
    ex, _ = read(status=404, body=b'{"detail": "no such run"}', ctype="application/json")
    assert ex.status == 404 and ex.error is None and ex.json == {"detail": "no such run"}
    assert ex.events == ()
