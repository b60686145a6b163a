"""WebSocket connections end to end: the client (`Client.websocket`) against a
fake events simulator in-process (virtual clock, no thread, no sleep) and
served over real HTTP by `serve.py`; and a connection through a cassette and a
HAR file and back, with the upgrade request's bearer token scrubbed."""

from __future__ import annotations

import json
import threading
from collections.abc import MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobcontracts.client import Client
from jobcontracts.clock import Clock, RealClock, ScaledClock, VirtualClock
from jobcontracts.recordings.cassette import read_cassette_entries, write_cassette
from jobcontracts.recordings.har import read_har_entries, write_har
from jobcontracts.recordings.recorded import Entry
from jobcontracts.recordings.scrub import REDACTED, Scrubber, find_secrets
from jobcontracts.serve import SimulatorApp, serving
from jobcontracts.trace import HUNG_UP, Exchange, Trace, WsMessage
from jobcontracts.websocket import (
    ChannelStream,
    RecordedChannel,
    simulator_transport,
    switching_protocols,
)

KEY = "sf_live_ws9Qk2pXz7Lm"
BASE = "https://jobs.test"
PATH = "/v1/goals/js_1/events"


def event(kind: str, seq: int, **data: Any) -> str:
    return json.dumps({"type": kind, "seq": seq, "job_spec_id": "js_1", "schema_version": 1,
                       "emitted_at": "2026-01-05T09:00:00Z", "data": data})


class FakeChannel:
    """Events `gap` s apart on the clock, after `after_seq`; then keepalives
    forever, or the close."""

    def __init__(self, clock: Clock, events: list[str], after: int, forever: bool,
                 gap: float) -> None:
        self.clock, self.forever, self.gap = clock, forever, gap
        self.events = [e for e in events if json.loads(e)["seq"] > after]
        self.close_code: int | None = None
        self.closed = threading.Event()
        self.sent = 0

    def receive(self) -> str | None:
        if self.closed.is_set():
            return None
        self.clock.sleep(self.gap)
        if self.events:
            self.sent += 1
            return self.events.pop(0)
        if self.forever:
            self.sent += 1
            return json.dumps({"type": "keepalive", "seq": 0})
        self.close_code = 1000
        return None

    def close(self) -> None:
        self.closed.set()


class FakeEventsSim:
    """The sans-IO events side of a jobs simulator, and one JSON endpoint."""

    STREAM = [event("status", 1, status="executing"), event("progress", 2, progress=50),
              event("completed", 3, status="completed")]

    def __init__(self, clock: Clock, *, forever: bool = False, gap: float = 1.0) -> None:
        self.clock, self.forever, self.gap = clock, forever, gap
        self.channels: list[FakeChannel] = []
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"job_spec_id": "js_1", "status": "completed"})

    def connect_events(self, request: httpx.Request) -> httpx.Response | FakeChannel:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return httpx.Response(401, json={"error": {"code": "unauthorized",
                                                       "message": "bad key"}})
        if request.url.path != PATH:
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})
        after = int(request.url.params.get("after_seq", "0"))
        channel = FakeChannel(self.clock, self.STREAM, after, self.forever, self.gap)
        self.channels.append(channel)
        return channel


def in_process(**options: Any) -> tuple[Client, FakeEventsSim, VirtualClock]:
    clock = VirtualClock()
    sim = FakeEventsSim(clock, **options)
    client = Client(base_url=BASE, api_key=KEY, clock=clock, trace=Trace(),
                    transport=simulator_transport(sim))
    return client, sim, clock


def kinds(ex: Exchange) -> list[str]:
    return [m["type"] for m in ex.ws_json]


# ---- in-process ---------------------------------------------------------------------


def test_messages_are_recorded_in_order_with_the_clock_and_a_normal_close() -> None:
    client, _, clock = in_process()
    start = clock.now()
    ex = client.websocket(PATH, deadline=600.0, until=["completed"])
    assert ex.status == 101 and ex.websocket and ex.error is None and ex.ws_close_code == 1000
    assert kinds(ex) == ["status", "progress", "completed"]
    assert [m.time - start for m in ex.ws_messages] == [1.0, 2.0, 3.0]
    assert all(m.direction == "receive" and m.opcode == 1 for m in ex.ws_messages)
    assert ex.request_header("authorization") == f"Bearer {KEY}"
    assert ex.finished_at - start == 4.0                # the close came a gap later
    assert client.trace.exchanges == [ex]
    assert "(3 messages: status, progress, completed; closed 1000)" in ex.describe()


def test_after_seq_is_sent_and_the_run_is_exactly_reproducible() -> None:
    def once() -> list[tuple[str, float, str | bytes]]:
        client, sim, _ = in_process()
        ex = client.websocket(PATH, params={"after_seq": 1}, deadline=600.0)
        assert sim.requests[0].url.params["after_seq"] == "1" and ex.query == "after_seq=1"
        assert kinds(ex) == ["progress", "completed"]
        key = ex.request_header("sec-websocket-key") or ""
        return [(key, m.time, m.data) for m in ex.ws_messages]

    assert once() == once()


def test_a_never_ending_stream_hits_the_deadline_and_the_server_hears_the_hang_up() -> None:
    client, sim, clock = in_process(forever=True)
    start = clock.now()
    ex = client.websocket(PATH, deadline=60.0)            # no terminal type named
    assert ex.error == "stream deadline: no terminal message within 60 s"
    assert ex.ws_close_code is None and sim.channels[0].closed.is_set()
    assert len(ex.ws_messages) == 61 and clock.now() - start == 61.0
    ex = client.websocket(PATH, deadline=60.0, until=["completed"], grace=5.0)
    assert ex.error == "stream deadline: still open 5 s after the terminal message"
    assert kinds(ex)[:3] == ["status", "progress", "completed"] and len(kinds(ex)) == 9


def test_hanging_up_on_purpose() -> None:
    client, sim, _ = in_process()
    ex = client.websocket(PATH, deadline=600.0, stop_after=2)
    assert ex.error == f"{HUNG_UP} after 2 message(s)" and kinds(ex) == ["status", "progress"]
    assert sim.channels[0].closed.is_set() and sim.channels[0].sent == 2
    ex = client.websocket(PATH, deadline=600.0, until=["completed"], until_close=False)
    assert ex.error == f"{HUNG_UP} after the terminal message" and len(ex.ws_messages) == 3


def test_a_refused_upgrade_is_an_ordinary_exchange() -> None:
    client, sim, _ = in_process()
    ex = client.websocket(PATH, deadline=600.0, credential="invalid")
    assert ex.status == 401 and ex.json["error"]["code"] == "unauthorized"
    assert ex.credential == "invalid" and ex.ws_messages == () and not sim.channels
    ex = client.websocket("/v1/goals/nope/events", deadline=600.0)
    assert ex.status == 404 and ex.error is None
    assert client.request("GET", "/v1/goals/js_1").json["status"] == "completed"


def test_a_server_breaking_the_protocol_is_recorded_not_raised() -> None:
    class Garbage(ChannelStream):
        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return b"\x81\x02\xff\xfe"                   # a text frame that is not UTF-8

    class Dropping(ChannelStream):
        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return b""

    for stream, says in ((Garbage, "protocol error"),
                         (Dropping, "connection closed without a close frame")):
        def answer(request: httpx.Request, stream: type[ChannelStream] = stream) -> \
                httpx.Response:
            channel = FakeChannel(VirtualClock(), [], 0, False, 1.0)
            return httpx.Response(101, extensions={"network_stream": stream(channel)})

        client = Client(base_url=BASE, api_key=KEY, clock=VirtualClock(), trace=Trace(),
                        transport=httpx.MockTransport(answer))
        ex = client.websocket(PATH, deadline=60.0)
        assert ex.status == 101 and (ex.error or "").startswith(says), ex.error


# ---- served over real HTTP ----------------------------------------------------------


@pytest.fixture
def served_sim() -> Any:
    sim = FakeEventsSim(ScaledClock(200.0), gap=1.0)
    with serving(SimulatorApp(sim), name="the fake events simulator") as url:
        yield sim, url


def test_served_over_http(served_sim: Any) -> None:
    sim, url = served_sim
    client = Client(base_url=url, api_key=KEY, clock=RealClock(), trace=Trace(), timeout=10.0)
    try:
        ex = client.websocket(PATH, params={"after_seq": 0}, deadline=30.0)
        assert ex.status == 101 and ex.error is None and ex.ws_close_code == 1000
        assert kinds(ex) == ["status", "progress", "completed"]
        assert sim.requests[0].headers["authorization"] == f"Bearer {KEY}"
        times = [m.time for m in ex.ws_messages]
        assert times == sorted(times) and ex.started_at <= times[0] <= ex.finished_at
        refused = client.websocket(PATH, deadline=30.0, credential="invalid")
        assert refused.status == 401 and refused.json["error"]["code"] == "unauthorized"
        sim.forever = True
        cut = client.websocket(PATH, deadline=30.0, stop_after=4)
        assert (cut.error or "").startswith(HUNG_UP) and len(cut.ws_messages) == 4
        assert sim.channels[-1].closed.wait(10), "the server never heard the client go"
    finally:
        client.close()


# ---- recordings ----------------------------------------------------------------------


def recorded() -> Exchange:
    client, _, _ = in_process()
    ex = client.websocket(PATH, params={"after_seq": 0}, deadline=600.0)
    messages = (*ex.ws_messages, WsMessage("receive", ex.finished_at, b"\x00\xff" + KEY.encode()))
    return replace(ex, ws_messages=messages,
                   request_headers={**ex.request_headers, "X-Note": f"token Bearer {KEY}"})


def same_connection(entry: Entry, ex: Exchange) -> None:
    assert entry.status == 101 and entry.url == ex.url and entry.ws_close_code == 1000
    assert [(m.direction, m.data) for m in entry.ws_messages][:3] == [
        (m.direction, m.data) for m in ex.ws_messages][:3]
    assert [m.time for m in entry.ws_messages] == pytest.approx([m.time for m in ex.ws_messages])
    assert entry.ws_messages[3].data == b"\x00\xff" + REDACTED.encode()
    assert entry.request_headers["authorization"] == REDACTED


def test_a_connection_through_a_cassette_and_back(tmp_path: Path) -> None:
    ex = recorded()
    path = tmp_path / "ws.yaml"
    write_cassette(path, [Trace([ex])], {"api": "jobs"}, Scrubber([KEY]))
    assert find_secrets(path.read_text(), [KEY]) == []
    entries = list(read_cassette_entries(path))
    same_connection(entries[0], ex)


def test_a_connection_through_a_har_file_and_back(tmp_path: Path) -> None:
    ex = recorded()
    path = tmp_path / "ws.har"
    write_har(path, [("run", [ex])], scrub=Scrubber([KEY]))
    text = path.read_text()
    assert find_secrets(text, [KEY]) == [] and '"_webSocketMessages"' in text
    entry = next(read_har_entries(path))
    same_connection(entry, ex)


def test_a_chrome_har_websocket_entry_is_read(tmp_path: Path) -> None:
    entry = {"startedDateTime": "2026-01-05T09:00:00.000Z", "time": 1500,
             "_resourceType": "websocket",
             "request": {"method": "GET", "url": f"wss://jobs.test{PATH}",
                         "headers": [{"name": "Upgrade", "value": "websocket"}]},
             "response": {"status": 101, "headers": [], "content": {"size": 0}},
             "_webSocketMessages": [
                 {"type": "receive", "time": 1767603600.5, "opcode": 1,
                  "data": event("status", 1)},
                 {"type": "send", "time": 1767603600.6, "opcode": 1, "data": "hi"},
                 {"type": "receive", "time": 1767603600.7, "opcode": 2, "data": "AP8="},
                 {"type": "receive", "time": 1767603600.8, "opcode": 9, "data": ""}]}
    path = tmp_path / "chrome.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    found = next(read_har_entries(path))
    assert [(m.direction, m.data) for m in found.ws_messages] == [
        ("receive", event("status", 1)), ("send", "hi"), ("receive", b"\x00\xff")]
    assert found.ws_close_code is None and found.error is None


def test_a_recorded_connection_replays_to_the_same_exchange() -> None:
    original = recorded()
    cut = replace(original, ws_close_code=None,
                  error="stream deadline: no terminal message within 2 s")
    for before, options in ((original, {}), (cut, {"deadline": 2.0})):
        clock = VirtualClock(before.started_at)

        def answer(request: httpx.Request, before: Exchange = before,
                   clock: VirtualClock = clock) -> httpx.Response:
            channel = RecordedChannel(before.ws_messages, before.ws_close_code, clock)
            return switching_protocols(request, ChannelStream(channel))

        client = Client(base_url=BASE, api_key=KEY, clock=clock, trace=Trace(),
                        transport=httpx.MockTransport(answer))
        again = client.websocket(PATH, params={"after_seq": 0},
                                 **{"deadline": 600.0, **options})  # type: ignore[arg-type]
        wanted = before.ws_messages if not options else before.ws_messages[:3]
        assert again.ws_messages == wanted and again.ws_close_code == (
            1000 if not options else None)
        assert again.error == (None if not options else before.error)


def test_a_recording_is_judged_offline_by_the_websocket_rules(tmp_path: Path) -> None:
    from jobcontracts.oracles import REGISTRY, Verdict
    from jobcontracts.oracles.context import Context
    from jobcontracts.recordings.recorded import Classifier
    from jobcontracts.recordings.verify import read_recording

    from .test_oracles_ws_events import contract

    client, _, _ = in_process()
    client.websocket(PATH, deadline=600.0)
    path = tmp_path / "run.yaml"
    write_cassette(path, [client.trace], {"api": "jobs"}, Scrubber([KEY]))
    (segment,) = read_recording(path, Classifier(contract()))
    kind = REGISTRY["ws_events"]
    check = next(c for c in contract().rule("JOB-EVT-1").checks)
    verdict = Verdict("JOB-EVT-1")
    kind.fn(segment.trace, kind.params.model_validate(check.raw_params),
            Context(contract(), segment.trace), verdict)
    assert verdict.reached == 1 and not verdict.violations
    ex = segment.trace.exchanges[0]
    assert ex.origin == "api" and ex.credential == "valid" and len(ex.ws_messages) == 3


@pytest.mark.parametrize("denial", [True, False])
def test_a_served_refusal_is_an_http_denial_or_a_close_before_accept(denial: bool) -> None:
    import anyio

    sim = FakeEventsSim(VirtualClock())
    sent: list[dict[str, Any]] = []
    scope: MutableMapping[str, Any] = {
        "type": "websocket", "scheme": "ws", "path": PATH, "raw_path": PATH.encode(),
        "query_string": b"", "headers": [(b"host", b"jobs.test")],
        "server": ("127.0.0.1", 80),
        "extensions": {"websocket.http.response": {}} if denial else {}}

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    anyio.run(SimulatorApp(sim), scope, receive, send)
    assert sim.requests[0].url.path == PATH and sim.requests[0].url.scheme == "http"
    if denial:
        assert sent[0]["type"] == "websocket.http.response.start" and sent[0]["status"] == 401
        assert (b"connection", b"close") in sent[0]["headers"]
        assert json.loads(sent[1]["body"])["error"]["code"] == "unauthorized"
    else:
        assert sent == [{"type": "websocket.close", "code": 4401}]


def test_a_silent_served_stream_hits_the_deadline_on_the_real_clock() -> None:
    sim = FakeEventsSim(ScaledClock(1.0), gap=3.0)      # 3 wall seconds before any event
    with serving(SimulatorApp(sim), name="the silent events simulator") as url:
        client = Client(base_url=url, api_key=KEY, clock=RealClock(), trace=Trace())
        try:
            ex = client.websocket(PATH, deadline=0.3)
        finally:
            client.close()
        assert ex.status == 101 and ex.ws_messages == ()
        assert ex.error == "stream deadline: no terminal message within 0.3 s"
        assert 0.3 < ex.finished_at - ex.started_at < 2.5
        assert sim.channels[0].closed.wait(5)
