"""`verify --jobs`: this process cuts a recording into segments of entries'
text (`Cut`s) and workers build them. A cut must say what a whole read says
(pages, trace numbers, times, the API's or not), whatever the file's layout,
and a file's first error must be the one a whole read meets first."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import yaml

from jobcontracts.recordings import har
from jobcontracts.recordings.cassette import cut_cassette, read_cassette_entries, write_cassette
from jobcontracts.recordings.har import cut_har_entries, read_har_entries, write_har
from jobcontracts.recordings.recorded import Classifier, Entry, RecordingError
from jobcontracts.recordings.scrub import Scrubber
from jobcontracts.recordings.verify import cut_recording, read_recording
from jobcontracts.recordings.workers import _PIPE_BYTES, Pool, build
from jobcontracts.recordings.yamlstream import RawItem
from jobcontracts.trace import Trace

from .test_recordings import CONTRACT, KEY, browser_har, exchange


def traffic() -> list[tuple[str, list]]:
    return [(f"page_{p}", [exchange(n, "GET", f"/v1/interviews/i{p}", body={"n": n, "p": p},
                                    t=1000.0 + 10 * p + n) for n in range(1, 5)])
            for p in range(3)]


def as_read(path: Path) -> list[Entry]:
    return list(read_har_entries(path) if path.suffix == ".har" else read_cassette_entries(path))


def origins_left_out(entries: list[Entry]) -> list[Entry]:
    """Where an entry says nothing of its origin (HAR, a foreign cassette),
    the cut carries the one its reader decided: the browser test checks those."""
    return [dataclasses.replace(e, origin=None) for e in entries]


def as_cut(path: Path) -> list[Entry]:
    classifier = Classifier(CONTRACT)
    cut = cut_har_entries if path.suffix == ".har" else cut_cassette
    found = []
    for item in cut(path, classifier):
        entry = build(item, path)
        assert (entry.segment, entry.started_at, entry.finished_at, entry.where) == (
            item.segment, item.started_at, item.finished_at, item.where)
        found.append(entry)
    return found


@pytest.mark.parametrize("layout", ["one-per-line", "indented", "minified", "mixed"])
def test_a_har_cut_in_any_layout_builds_the_entries_a_read_gives(tmp_path, layout):
    """Entries one per line (ours), indented (Chrome's), all on one line, or
    a layout that changes after the first entry: the fast cut learns how the
    first one ends, and anything else is decoded the slow way."""
    path = tmp_path / "t.har"
    write_har(path, traffic())
    document = json.loads(path.read_text())
    if layout == "indented":
        path.write_text(json.dumps(document, indent=2))
    elif layout == "minified":
        path.write_text(json.dumps(document, separators=(",", ":")))
    elif layout == "mixed":
        entries = document["log"]["entries"]
        path.write_text('{"log": {"entries": [\n' + json.dumps(entries[0], indent=4) + ",\n"
                        + ",\n".join(json.dumps(e) for e in entries[1:5]) + ", "
                        + ", ".join(json.dumps(e) for e in entries[5:]) + "]}}")
    expected = as_read(path)
    assert len(expected) == 12
    with path.open() as handle:
        stream = har._Stream(handle)
        assert sum(1 for _ in har._log_entries(stream)) == 12
    assert stream.slow == {"one-per-line": 1, "indented": 1, "minified": 12, "mixed": 12}[layout]
    assert origins_left_out(as_cut(path)) == expected
    segments = [s.size for s in cut_recording(path, Classifier(CONTRACT))]
    assert segments == [len(s.trace) for s in read_recording(path, Classifier(CONTRACT))]
    assert segments == [4, 4, 4]


def test_a_browser_har_is_told_apart_in_reading_order_when_cut(tmp_path):
    """Which host is the API's is learned in reading order, so this process
    decides it for each cut, as a whole read does."""
    path = browser_har(tmp_path)
    expected = [ex.origin for s in read_recording(path, Classifier(CONTRACT)) for ex in s.trace]
    cuts = [c for s in cut_recording(path, Classifier(CONTRACT)) for c in s.cuts]
    assert [c.origin for c in cuts] == expected == ["external", "external", "api", "api", "api"]


@pytest.mark.parametrize("kind", ["ours", "foreign"])
def test_a_cassette_cut_reads_its_trace_numbers_and_times_unparsed(tmp_path, kind):
    """Our interactions' `jobcontracts` block is read from their text; a
    foreign cassette's (no such block) are parsed here, whole."""
    path = tmp_path / "c.yaml"
    write_cassette(path, [Trace(page) for _, page in traffic()], {"api": "specstep"},
                   Scrubber([KEY]))
    if kind == "foreign":
        document = yaml.safe_load(path.read_text())
        for item in document["interactions"]:
            del item["jobcontracts"]
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    cuts = list(cut_cassette(path, Classifier(CONTRACT)))
    raw = sum(isinstance(c.payload, RawItem) for c in cuts)
    assert raw == (11 if kind == "ours" else 0)  # the first is parsed, to learn the layout
    cut_whole = as_cut(path)
    assert (cut_whole if kind == "ours" else origins_left_out(cut_whole)) == as_read(path)
    if kind == "ours":
        assert [c.segment for c in cuts] == [1] * 4 + [2] * 4 + [3] * 4


def test_a_misread_block_is_an_error_not_a_wrong_verdict(tmp_path):
    """A worker checks the cut against the interaction parsed whole."""
    path = tmp_path / "c.yaml"
    write_cassette(path, [Trace(page) for _, page in traffic()], {"api": "specstep"},
                   Scrubber([KEY]))
    cut = list(cut_cassette(path, Classifier(CONTRACT)))[5]
    wrong = type(cut)(7, cut.started_at, cut.finished_at, cut.where, cut.origin, cut.payload)
    with pytest.raises(RecordingError, match="--jobs 1"):
        build(wrong, path)


def test_the_first_error_of_a_file_is_the_one_a_whole_read_meets(tmp_path):
    """An entry that cannot be built, then text that is not JSON, in one
    segment: a whole read stops at the entry; so does a cut one, although it
    read on to the broken text before the segment could be sent."""
    path = tmp_path / "t.har"
    write_har(path, traffic())
    lines = path.read_text().split("\n")
    entry = json.loads(lines[2].rstrip(","))
    del entry["response"]
    lines[2] = json.dumps(entry) + ","
    lines[3] = lines[3][:40]
    path.write_text("\n".join(lines))
    with pytest.raises(RecordingError) as whole:
        list(read_recording(path, Classifier(CONTRACT)))
    with pytest.raises(RecordingError) as cut:
        list(cut_recording(path, Classifier(CONTRACT)))
    assert str(cut.value) == str(whole.value)
    assert "entry 2: not a HAR 1.2 entry" in str(whole.value)


@pytest.mark.skipif(sys.platform != "linux" or int(Path(
    "/proc/sys/fs/pipe-max-size").read_text()) < _PIPE_BYTES, reason="pipe sizes are Linux's")
def test_a_segment_is_sent_to_a_busy_worker_without_waiting_for_it():
    """A worker's pipe holds several segments' text (Linux's default of 64 KiB
    is less than one of a few dozen HAR entries): the reader goes on cutting
    while every worker has work in hand."""
    import fcntl

    with Pool(CONTRACT, Classifier(CONTRACT), 2) as pool:
        sizes = [fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ) for pipe in pool._pipes]
    assert sizes == [_PIPE_BYTES] * 2
