"""Recordings as data: scrubbing, cassettes (as VCR.py reads them), HAR files,
segments, and the errors a bad file gets."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import vcr.serialize
import yaml
from vcr.serializers import yamlserializer

from jobcontracts.loader import load_contract
from jobcontracts.recordings.cassette import (
    cut_cassette_entries,
    entry_of,
    read_cassette_entries,
    write_cassette,
)
from jobcontracts.recordings.har import read_har_entries, write_har
from jobcontracts.recordings.recorded import Classifier, Entry, RecordingError, segments
from jobcontracts.recordings.scrub import REDACTED, Scrubber, find_secrets
from jobcontracts.recordings.verify import read_recording
from jobcontracts.recordings.yamlstream import RawItem
from jobcontracts.trace import Exchange, Trace, exchange_of

from .suite_runner import ROOT

KEY = "sf_live_7Hq2pXk9s3cR"
CONTRACT = load_contract(ROOT / "contracts" / "specstep.yaml")
BASE = "https://api.example.test"


def exchange(seq: int, method: str, path: str, status: int = 200, body: object = None,
             t: float = 1000.0, **extra: object) -> Exchange:
    content = b"" if body is None else json.dumps(body).encode()
    fields: dict[str, object] = {
        "seq": seq, "method": method, "url": BASE + path,
        "request_headers": {"Authorization": f"Bearer {KEY}", "Accept": "application/json"},
        "request_body": b"", "status": status,
        "response_headers": {"content-type": "application/json"},
        "response_body": content, "started_at": t, "finished_at": t + 0.05}
    fields.update(extra)
    return Exchange(**fields)  # type: ignore[arg-type]


def test_scrubber_takes_keys_tokens_cookies_and_signatures_out_everywhere():
    scrub = Scrubber([KEY])
    url = f"https://blob.test/p.zip?se=1767&sp=r&sig=abcdef0123&X-Amz-Signature=ff00&k={KEY}"
    assert scrub.text(url) == (f"https://blob.test/p.zip?se=1767&sp=r&sig={REDACTED}"
                               f"&X-Amz-Signature={REDACTED}&k={REDACTED}")
    headers = scrub.headers({"Authorization": "Bearer x", "X-Api-Key": "y", "Cookie": "s=1",
                             "Set-Cookie": "s=2", "Accept": "application/json"})
    assert headers == {"Authorization": REDACTED, "X-Api-Key": REDACTED, "Cookie": REDACTED,
                       "Set-Cookie": REDACTED, "Accept": "application/json"}
    body = json.dumps({"download_url": url, "note": f"token Bearer {KEY}x"}).encode()
    assert find_secrets(scrub.body(body).decode(), [KEY]) == []
    assert scrub.body(b"\xff\xfe" + KEY.encode()) == b"\xff\xfe" + REDACTED.encode()


def test_find_secrets_reports_what_leaked():
    leaked = f"GET /x?sig=0011aa Authorization: Bearer {KEY} and {KEY}"
    found = find_secrets(leaked, [KEY])
    assert any("configured key" in f for f in found)
    assert any("sig=0011aa" in f for f in found)
    assert any(f.lower().startswith("bearer") for f in found)
    assert find_secrets(f"sig={REDACTED} Bearer {REDACTED}", [KEY]) == []


def test_cassette_is_scrubbed_streamed_back_and_loadable_by_vcr(tmp_path):
    trace = Trace([exchange(1, "GET", "/v1/me", body={"ok": True}),
                   exchange(2, "GET", "/v1/packages/p/zip", status=302,
                            response_headers={"location": "https://blob.test/p?sig=s3cr3t"}),
                   exchange(3, "GET", "/v1/me", status=0, error="timed out (ReadTimeout)")])
    binary = Trace([exchange(1, "GET", "/v1/me", response_body=b"\x00\xff zip")])
    path = tmp_path / "c.yaml"
    write_cassette(path, [trace, binary], {"api": "specstep", "seed": "4"}, Scrubber([KEY]))
    text = path.read_text()
    assert find_secrets(text, [KEY]) == []
    requests, responses, metadata = vcr.serialize.deserialize(text, yamlserializer)
    assert len(requests) == len(responses) == 4
    assert requests[0].uri == f"{BASE}/v1/me" and metadata["api"] == "specstep"
    assert responses[3]["body"]["string"] == b"\x00\xff zip"
    entries = list(read_cassette_entries(path))
    assert [e.segment for e in entries] == [1, 1, 1, 2]
    assert entries[2].status == 0 and entries[2].error == "timed out (ReadTimeout)"
    assert entries[1].response_headers["location"].endswith(f"sig={REDACTED}")
    assert entries[0].credential == "valid" and entries[0].where.endswith(":6")


@pytest.mark.parametrize("flow", [False, True], ids=["block", "flow"])
def test_a_cassette_cut_for_workers_reads_back_the_same_entries(tmp_path, flow):
    """`verify --jobs` parses interactions in workers from their cut text; read
    that way, a cassette gives the entries a plain read gives. A layout the
    fast reader does not know is read here, whole, from its first item."""
    trace = Trace([exchange(n, "GET", "/v1/me", body={"n": n}) for n in range(1, 6)])
    path = tmp_path / "c.yaml"
    write_cassette(path, [trace], {"api": "specstep"}, Scrubber([KEY]))
    if flow:
        path.write_text(yaml.safe_dump(yaml.safe_load(path.read_text()), default_flow_style=True))
    cut = list(cut_cassette_entries(path))
    assert sum(isinstance(item, RawItem) for item in cut) == (0 if flow else 4)
    parsed = [item if isinstance(item, Entry) else entry_of(item, path) for item in cut]
    assert parsed == list(read_cassette_entries(path))


@pytest.mark.parametrize(("content", "message"), [
    ("", "empty file"),
    ("- just\n- a list\n", "a cassette is a mapping"),
    ("version: 1\n", "no 'interactions' list"),
    ("interactions:\n- {request: {}}\n", "not a VCR interaction"),
    ("interactions: [\n", "not YAML"),
])
def test_a_bad_cassette_is_an_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(RecordingError, match=message) as caught:
        list(read_cassette_entries(path))
    assert str(path) in str(caught.value)


def browser_har(tmp_path: Path) -> Path:
    """A HAR as Chrome exports it: pages, HTTP/2 pseudo-headers, a CORS
    preflight, the page's own HTML, base64 content and a failed request."""
    def entry(method: str, url: str, status: int, text: str | None, page: str,
              ms: float, **extra: object) -> dict[str, object]:
        content: dict[str, object] = {"size": 0, "mimeType": "application/json"}
        if text is not None:
            content["text"] = text
        return {"pageref": page, "startedDateTime": f"2026-11-20T10:00:{ms:06.3f}Z",
                "time": 12.5, "request": {"method": method, "url": url, "httpVersion": "h2",
                "headers": [{"name": ":authority", "value": "api.example.test"},
                            {"name": "authorization", "value": f"Bearer {KEY}"}],
                "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
                "response": {"status": status, "statusText": "", "httpVersion": "h2",
                             "headers": [{"name": "content-type", "value": "application/json"}],
                             "cookies": [], "content": content, "redirectURL": "",
                             "headersSize": -1, "bodySize": -1},
                "cache": {}, "timings": {"send": 0, "wait": 12, "receive": 0}, **extra}

    me = json.dumps({"id": "u1"})
    entries = [
        entry("GET", "https://app.example.test/", 200, "<html>", "page_1", 0.0),
        entry("OPTIONS", f"{BASE}/v1/me", 204, None, "page_1", 0.1),
        entry("GET", f"{BASE}/v1/me", 200, me, "page_1", 0.2),
        entry("GET", f"{BASE}/v1/me", 200, "eyJpZCI6ICJ1MSJ9", "page_2", 1.0),
        entry("GET", f"{BASE}/v1/me", 0, None, "page_2", 2.0,
              _error="net::ERR_CONNECTION_RESET"),
    ]
    entries[3]["response"]["content"]["encoding"] = "base64"  # type: ignore[index]
    path = tmp_path / "browser.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "Chrome"},
                                        "pages": [], "entries": entries}}))
    return path


def test_a_browser_har_is_read_by_page_with_the_api_told_apart(tmp_path):
    found = list(read_recording(browser_har(tmp_path), Classifier(CONTRACT)))
    assert [len(s.trace) for s in found] == [3, 2]
    first, second = found[0].trace.exchanges, found[1].trace.exchanges
    assert [e.origin for e in first] == ["external", "external", "api"]
    assert ":authority" not in first[2].request_headers
    assert second[0].json == {"id": "u1"}
    assert second[1].status == 0 and second[1].error == "net::ERR_CONNECTION_RESET"


def test_har_written_from_traces_reads_back_the_same_exchanges(tmp_path):
    original = [exchange(1, "POST", "/v1/interviews", 201, {"id": "i"}, t=10.0,
                         request_body=b'{"a": 1}'),
                exchange(2, "GET", "/v1/interviews/i", 200, {"id": "i"}, t=11.0,
                         response_body=b"\x89PNG")]
    path = tmp_path / "out.har"
    assert write_har(path, [("p", original)]) == 2
    back = list(read_har_entries(path))
    assert [(e.method, e.url, e.status, e.request_body, e.response_body) for e in back] == [
        (x.method, x.url, x.status, x.request_body, x.response_body) for x in original]
    assert back[0].started_at == pytest.approx(10.0) and back[0].segment == "p"


def test_a_recorded_exchange_is_the_record_its_dataclass_builds():
    fields = dataclasses.asdict(exchange(3, "GET", "/v1/interviews/i", 200, {"id": "i"}, t=4.0))
    built = exchange_of(dict(fields))
    assert dataclasses.asdict(built) == dataclasses.asdict(Exchange(**fields))
    assert built.json == {"id": "i"} and built.path == "/v1/interviews/i"
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.status = 500  # type: ignore[misc]
    del fields["note"]
    with pytest.raises(TypeError, match="note"):
        exchange_of(fields)


@pytest.mark.parametrize(("content", "message"), [
    ('{"log": {"entries": []}}', "no log.entries"),
    ('{"log": {"entries": [{"request": {}}]}}', "not a HAR 1.2 entry"),
    ('{"log": {"entries": [', "not valid JSON"),
])
def test_a_bad_har_is_an_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.har"
    path.write_text(content)
    with pytest.raises(RecordingError, match=message) as caught:
        list(read_har_entries(path))
    assert str(path) in str(caught.value)


def test_silence_longer_than_split_idle_ends_a_segment():
    def entry(t: float) -> Entry:
        return Entry("GET", f"{BASE}/v1/me", {}, b"", 200, {}, b"{}", t, t + 1)

    found = list(segments([entry(0), entry(10), entry(700), entry(705)], "x",
                          Classifier(CONTRACT), split_idle=600))
    assert [len(s.trace) for s in found] == [2, 2]
    assert [e.seq for e in found[1].trace] == [1, 2]


@pytest.mark.parametrize(("header", "status", "key", "expected"), [
    (f"Bearer {KEY}", 200, KEY, "valid"),
    ("Bearer wrong", 200, KEY, "invalid"),
    (None, 401, KEY, "missing"),
    (None, 200, None, "valid"),
    (f"Bearer {REDACTED}", 401, KEY, "invalid"),
    ("Bearer something", 200, None, "valid"),
])
def test_credential_is_read_from_what_the_recording_kept(header, status, key, expected):
    headers = {"Authorization": header} if header else {}
    entry = Entry("GET", f"{BASE}/v1/me", headers, b"", status, {}, b"{}", 0, 1)
    assert Classifier(CONTRACT, api_key=key).credential(entry) == expected
