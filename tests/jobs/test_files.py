"""JOB-FILE-1: a multipart upload is echoed back as the File it made, and
read back the same; a form with no `file` part is refused; an unknown file
id is not found. Names and sizes come from hypothesis (empty, Unicode,
long, awkward to escape)."""

import pytest
from hypothesis import example, given, settings

from jobcontracts.strategies_jobs import content_types, file_contents, filenames

pytestmark = pytest.mark.api("jobs")


def test_upload_is_echoed_and_read_back(jobs):
    d = jobs.driver
    d.file_id("quarterly report.pdf", b"%PDF-1.4 quarterly figures")
    d.upload("notes", b"plain notes", None, note="a part with no Content-Type")
    d.upload("report.pdf", b"%PDF", "application/pdf", part="attachment",
             note="no part named file")
    d.get_file(jobs.unknown_id(), note="unknown file id")


@settings(max_examples=min(settings().max_examples, 12))
@given(name=filenames(), content=file_contents(), kind=content_types())
@example(name="", content=b"", kind=None)
@example(name="数据报告 final ✓.xlsx", content=b"\x00" * 65_537, kind="application/pdf")
def test_any_upload_is_echoed(jobs, name, content, kind):
    with jobs.example() as run:
        ex = run.driver.upload(name, content, kind, note="generated upload")
        body = ex.json
        if ex.status == 201 and isinstance(body, dict) and isinstance(body.get("file_id"), str):
            run.driver.get_file(body["file_id"])
