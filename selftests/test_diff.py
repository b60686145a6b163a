"""The regression diff over recordings written here, exchange by exchange:
alignment, noise learning, each kind of comparison, HAR input, old fixtures,
the command line and its report."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobcontracts.cli import main
from jobcontracts.diff.run import diff_recordings
from jobcontracts.recordings.cassette import write_cassette
from jobcontracts.recordings.har import write_har
from jobcontracts.recordings.scrub import Scrubber
from jobcontracts.trace import Exchange, Trace

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://specstep.sim"
TEST = "tests/specstep/test_x.py::test_generation"

#: A run as the diff sees it: the test's examples, each a list of exchanges.
Run = list[list[Exchange]]


class Maker:
    """Exchanges of one run, with fresh ids and times."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.seq = 0

    def exchange(self, method: str, path: str, status: int, body: Any = None, *,
                 request: Any = None, headers: dict[str, str] | None = None,
                 latency: float = 0.004, raw: bytes | None = None) -> Exchange:
        self.seq += 1
        started = self.now
        self.now += latency + 0.001
        content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        answer_headers = {"content-type": "application/json", **(headers or {})}
        return Exchange(self.seq, method, f"{BASE}{path}", {},
                        b"" if request is None else json.dumps(request).encode(), status,
                        answer_headers, content, started, started + latency)


Shape = Callable[[Maker], Run]


def generation(*, polls: int = 7, state: str = "Running", extra: dict[str, Any] | None = None,
               eta: Callable[[int], Any] = lambda i: 100 - i, code: str = "INVALID_REQUEST",
               questions: int = 2, reply: str = "Tell me more about who uses it, and how.",
               latency: float = 0.004, retry_after: str = "1", events: tuple[str, ...] = (
                   "started", "step", "step", "completed")) -> Shape:
    """A test whose one example creates a generation, polls it `polls` times,
    reads its clarifications, is refused a bad body, is throttled once and
    reads a stream; every id and timestamp new in each run."""

    def make(m: Maker) -> Run:
        gid = str(uuid.uuid4())
        record = {"id": gid, "state": "Queued", "estimated_time_remaining_seconds": None,
                  "created_at": f"2026-01-05T09:00:{m.seq:02d}Z", **(extra or {})}
        ex = [m.exchange("POST", "/v1/generations", 202, record, request={"intake_id": gid})]
        for i in range(polls):
            ex.append(m.exchange("GET", f"/v1/generations/{gid}", 200,
                                 {**record, "state": state,
                                  "estimated_time_remaining_seconds": eta(i)}, latency=latency))
        ex.append(m.exchange("GET", f"/v1/generations/{gid}/clarifications", 200,
                             {"clarifications": [{"id": str(uuid.uuid4()), "question": reply}
                                                 for _ in range(questions)]}))
        ex.append(m.exchange("POST", "/v1/generations", 400,
                             {"error": {"code": code, "message": f"bad {uuid.uuid4()}"}},
                             request={"intake_id": 7}))
        ex.append(m.exchange("GET", "/v1/me", 429, {"error": {"code": "RATE_LIMITED",
                                                               "message": "slow down"}},
                             headers={"retry-after": retry_after}))
        interview = str(uuid.uuid4())
        ex.append(m.exchange("GET", f"/v1/interviews/{interview}", 200,
                             {"id": interview, "status": "Active",
                              "turns": [{"role": "agent", "content": reply}]}))
        stream = "".join(f"event: {name}\ndata: {json.dumps({'type': name, 'n': i})}\n\n"
                         for i, name in enumerate(events)).encode()
        ex.append(m.exchange("GET", f"/v1/generations/{gid}/events", 200, raw=stream,
                             headers={"content-type": "text/event-stream"}))
        return [ex]

    return make


def write(directory: Path, shape: Shape) -> Path:
    traces = [Trace(list(example)) for example in shape(Maker())]
    write_cassette(directory / "specstep" / "test_x" / "test_generation.yaml", traces,
                   {"api": "specstep", "test": TEST, "target": "live", "base_url": BASE,
                    "seed": "7"}, Scrubber([]))
    return directory


def diff(tmp_path: Path, baseline: Shape, candidate: Shape, again: Shape | None = None,
         **options: Any) -> list[Any]:
    a = write(tmp_path / "a", baseline)
    a2 = write(tmp_path / "a2", again or baseline)
    b = write(tmp_path / "b", candidate)
    result = diff_recordings(a, b, a2, judge=False, **options)
    return result.differences


def kinds(found: list[Any]) -> set[tuple[str, str]]:
    return {(d.kind, d.field) for d in found}


def test_two_runs_of_one_release_differ_only_in_noise(tmp_path):
    assert diff(tmp_path, generation(), generation()) == []


def test_a_poll_loop_of_another_length_still_aligns(tmp_path):
    assert diff(tmp_path, generation(polls=7), generation(polls=8),
                again=generation(polls=9)) == []
    found = diff(tmp_path, generation(polls=7), generation(polls=8, state="Working"),
                 again=generation(polls=9))
    assert kinds(found) == {("vocab", "state")}, [d.why for d in found]
    assert "new: Working" in found[0].why and "gone: Running" in found[0].why
    assert found[0].endpoint == "GET /v1/generations/{generation_id} 200"


def test_a_field_the_baseline_runs_disagree_on_is_noise(tmp_path):
    found = diff(tmp_path, generation(extra={"region": "eu"}),
                 generation(extra={"region": "ap"}), again=generation(extra={"region": "us"}))
    assert found == []


def test_a_renamed_error_code_is_named(tmp_path):
    found = diff(tmp_path, generation(), generation(code="VALIDATION_FAILED"))
    assert kinds(found) == {("vocab", "error.code")}
    assert found[0].baseline == "INVALID_REQUEST" and found[0].candidate == "VALIDATION_FAILED"


def test_a_status_record_with_one_more_key_is_named(tmp_path):
    found = diff(tmp_path, generation(), generation(extra={"queue": "eu-1"}))
    assert ("key", "queue") in kinds(found), [d.why for d in found]
    assert all(d.kind in ("key", "type", "vocab", "text-length") and "queue" in d.field
               for d in found), [d.why for d in found]


def test_an_always_null_forecast_is_named(tmp_path):
    found = diff(tmp_path, generation(), generation(eta=lambda i: None))
    assert kinds(found) == {("type", "estimated_time_remaining_seconds")}
    assert "gone: integer" in found[0].why


def test_slower_answers_are_named_past_the_threshold(tmp_path):
    found = diff(tmp_path, generation(polls=30), generation(polls=30, latency=0.2))
    assert {("latency-median", "latency"), ("latency-p95", "latency")} == kinds(found)
    assert diff(tmp_path, generation(polls=30), generation(polls=30, latency=0.2),
                settings=None) != []
    from jobcontracts.diff.judge import Settings
    assert diff(tmp_path, generation(polls=30), generation(polls=30, latency=0.2),
                settings=Settings(latency_ratio=100)) == []


def test_a_longer_retry_after_is_named(tmp_path):
    found = diff(tmp_path, generation(), generation(retry_after="5"))
    assert kinds(found) == {("retry-after", "header retry-after")}
    assert "grew 5.0x" in found[0].why


def test_one_more_question_per_round_is_named(tmp_path):
    found = diff(tmp_path, generation(), generation(questions=3))
    assert kinds(found) == {("count", "len(clarifications)")}


def test_a_reply_cut_short_is_named(tmp_path):
    found = diff(tmp_path, generation(), generation(reply="Tell me."))
    assert {f for k, f in kinds(found) if k == "text-length"} == \
        {"clarifications[].question", "turns[].content"}


def test_a_changed_event_sequence_is_named(tmp_path):
    found = diff(tmp_path, generation(),
                 generation(events=("started", "step", "progress", "completed")))
    assert ("events", "event sequence") in kinds(found)
    sequence = next(d for d in found if d.kind == "events")
    assert sequence.baseline == "started → step+ → completed"


def test_a_har_recording_is_diffed_as_a_cassette_is(tmp_path):
    paths = []
    for name, shape in (("a", generation()), ("a2", generation()),
                        ("b", generation(code="VALIDATION_FAILED"))):
        path = tmp_path / f"{name}.har"
        write_har(path, [("page", example) for example in shape(Maker())])
        paths.append(path)
    result = diff_recordings(paths[0], paths[2], paths[1], contract="specstep", judge=False)
    assert kinds(result.differences) == {("vocab", "error.code")}


def test_recorded_fixtures_load_and_match_themselves():
    for recording in ("fixtures/cassettes", "fixtures/jobs", "fixtures/har/specstep-session.har"):
        path = ROOT / recording
        result = diff_recordings(path, path, path)
        assert result.differences == [] and result.exchanges["candidate"] > 0, recording
        assert result.violations == [], recording


def test_the_command_line_reports_and_exits_1_on_a_difference(tmp_path, capsys):
    a, a2 = write(tmp_path / "a", generation()), write(tmp_path / "a2", generation())
    b = write(tmp_path / "b", generation(extra={"queue": "eu-1"}))
    report = tmp_path / "diff.json"
    # These made-up answers break rules (no full GenerationStatus): listed first.
    assert main(["diff", str(a), str(a2), "--noise", str(a)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("VIOLATION (candidate) SS-") and "DIFF" not in out
    assert main(["diff", str(a), str(b), "--noise", str(a2), "--report", str(report),
                 "--no-rules"]) == 1
    out = capsys.readouterr().out
    assert "DIFF key POST /v1/generations 202 queue: key 'queue' is new" in out
    assert f"at {b}/specstep/test_x/test_generation.yaml #1" in out
    written = json.loads(report.read_text())
    assert {"kind", "endpoint", "field", "baseline", "candidate"} <= set(written["differences"][0])
    assert isinstance(written["noise"], list)
    assert main(["diff", str(a), str(a2), "--noise", str(a), "--report", str(report),
                 "--no-rules"]) == 0
    assert json.loads(report.read_text())["differences"] == []
    assert main(["diff", str(a), str(tmp_path / "missing"), "--noise", str(a2)]) == 2


def test_garbage_answers_are_differences_never_exceptions(tmp_path):
    def garbage(m: Maker) -> Run:
        run = generation()(m)
        run[0].append(m.exchange("GET", "/v1/me", 200, raw=b"\xff\x00 not json {"))
        run[0].append(m.exchange("GET", "/v1/me", 200, raw=b'{"a": [[[{"b": null}]]]}'))
        return run

    found = diff(tmp_path, generation(), garbage)
    assert isinstance(found, list)


def test_a_key_named_like_a_path_is_that_path_as_before(tmp_path):
    """The summary interns field paths: `snapshot.state` written as one key and
    `state` under `snapshot` are one path, in either order, as they always were."""
    def flat(m: Maker) -> Run:
        return [[m.exchange("GET", "/v1/me", 200, {"snapshot.state": "Queued"}),
                 m.exchange("GET", "/v1/me", 200, {"snapshot": {"state": "Queued"}})]]

    def nested(state: str) -> Shape:
        return lambda m: [[m.exchange("GET", "/v1/me", 200, {"snapshot": {"state": state}}),
                           m.exchange("GET", "/v1/me", 200, {"snapshot.state": state})]]

    assert diff(tmp_path, flat, nested("Queued")) == []
    found = diff(tmp_path, flat, nested("Running"))
    assert kinds(found) == {("vocab", "snapshot.state")}, [d.why for d in found]


def test_the_cycle_collector_is_paused_for_the_diff_only(tmp_path):
    import gc

    assert gc.isenabled()
    assert diff(tmp_path, generation(), generation(code="VALIDATION_FAILED"))
    assert gc.isenabled()
    gc.disable()
    try:
        assert diff(tmp_path, generation(), generation()) == []
        assert not gc.isenabled()
    finally:
        gc.enable()
