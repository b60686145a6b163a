"""Self-tests of the transport rule kinds (jobcontracts.oracles.http): content
types, server errors, error bodies, Retry-After, waiting out a 429, redirects
to downloads."""

from __future__ import annotations

import io
import zipfile
from email.utils import formatdate
from typing import Any

import pytest

from jobcontracts.oracles.http import retry_after_seconds
from jobcontracts.trace import Exchange

from .oracle_kit import BASE, broken, check, ok
from .oracle_kit import Traffic as BaseTraffic

FILES = "https://files.test/p1.zip?sig=abc"
ERROR = {"error": {"code": "NOT_FOUND", "message": "no such thing"}}


class Traffic(BaseTraffic):
    START = 1_700_000_000.0

    def throttled(self, retry_after: str | None = "2", wait: float = 1.0) -> Exchange:
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        return self("GET", "/v1/me", 429, {"error": {"code": "RATE", "message": "slow"}},
                    headers=headers, wait=wait)




def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("spec/README.md", "# The package\n" * 50)
    return buffer.getvalue()


# ---- json_content --------------------------------------------------------------------


def test_json_content() -> None:
    t = Traffic()
    t("GET", "/v1/me", 200, {"id": "u"})
    t("GET", "/v1/me", 200, {"id": "u"}, ctype="application/json; charset=utf-8")
    t("GET", "/v1/generations/g1", 404, ERROR, ctype="application/problem+json")
    t("DELETE", "/v1/generations/g1", 204, ctype=None)
    t("GET", "/v1/packages/p1/zip", 302, ctype=None, headers={"Location": FILES})  # exempt
    t("GET", "", 200, raw=a_zip(), ctype="application/zip", url=FILES, origin="external",
      credential="none")
    t("GET", "/v1/me", 0, ctype=None, error="timeout")
    ok(check("SS-HTTP-1", "json_content", t), reached=3)


@pytest.mark.parametrize(("raw", "ctype", "says"), [
    (b"<html>oops</html>", "text/html", "Content-Type is 'text/html', not application/json"),
    (b'{"id": "u"}', "text/plain", "Content-Type is 'text/plain'"),
    (b'{"id": "u"}', None, "Content-Type is None"),
    (b'{"id": "u"', "application/json", "the body is not valid JSON"),
    (b"\xff\xfe\x00garbage", "application/json", "the body is not valid JSON"),
])
def test_json_content_violated(raw: bytes, ctype: str | None, says: str) -> None:
    t = Traffic()
    t("GET", "/v1/me", 200, {"id": "u"})
    t("GET", "/v1/generations/g1", 200, raw=raw, ctype=ctype)
    broken(check("SS-HTTP-1", "json_content", t), 2, says=says)


def test_json_content_exemption_is_per_status() -> None:
    t = Traffic()
    t("GET", "/v1/packages/p1/zip", 200, raw=a_zip(), ctype="application/zip")
    broken(check("SS-HTTP-1", "json_content", t), 1, says="'application/zip'")


# ---- no_server_error -----------------------------------------------------------------


def test_no_server_error() -> None:
    t = Traffic()
    t("GET", "/v1/me", 200, {"id": "u"})
    t("GET", "/v1/me", 404, ERROR)
    t("GET", "", 500, raw=b"down", url=FILES, origin="external", credential="none")
    ok(check("SS-HTTP-1", "no_server_error", t), reached=2)
    t("GET", "/v1/me", 503, raw=b"<h1>Service Unavailable</h1>", ctype="text/html")
    t("POST", "/v1/interviews", 0, ctype=None, error="connection reset")
    v = check("SS-HTTP-1", "no_server_error", t)
    broken(v, 4, 5, says="server error 503")
    assert "no answer: connection reset" in v.violations[1].why


def test_no_server_error_not_reached() -> None:
    ok(check("SS-HTTP-1", "no_server_error", Traffic()), reached=0)


# ---- error_body ----------------------------------------------------------------------


def test_error_body() -> None:
    t = Traffic()
    t("GET", "/v1/me", 200, {"id": "u"})  # not an error: not judged
    ok(check("SS-ERR-1", "error_body", t), reached=0)
    t("GET", "/v1/generations/g1", 404, ERROR)
    t("POST", "/v1/interviews", 422, {"error": {"code": "BAD", "message": "m", "field": "x"}})
    ok(check("SS-ERR-1", "error_body", t), reached=2)


@pytest.mark.parametrize(("body", "raw", "says"), [
    ({"detail": "not found"}, None, "error body at body: 'error' is a required property"),
    ({"error": {"code": 404, "message": "m"}}, None, "error body at error/code: 404 is not"),
    ({"error": "not found"}, None, "error body at error: 'not found' is not of type 'object'"),
    ([], None, "is not of type 'object'"),
    (None, b"<html>Not Found</html>", "a 404 without a JSON body"),
    (None, b"", "a 404 without a JSON body"),
])
def test_error_body_violated(body: Any, raw: bytes | None, says: str) -> None:
    t = Traffic()
    t("GET", "/v1/generations/g1", 404, body, raw=raw)
    broken(check("SS-ERR-1", "error_body", t), 1, says=says)


# ---- retry_after / retry_after_seconds -----------------------------------------------


def answer_at(retry_after: str | None, finished_at: float = 1_700_000_000.0) -> Exchange:
    headers = {} if retry_after is None else {"retry-after": retry_after}
    return Exchange(1, "GET", BASE + "/v1/me", {}, b"", 429, headers, b"", finished_at - 0.1,
                    finished_at)


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("0", 0.0),
    (formatdate(1_700_000_090, usegmt=True), 90.0),
    (formatdate(1_700_000_000 - 500, usegmt=True), 0.0),  # in the past: no wait
    ("Tue, 14 Nov 2023 22:14:50 +0100", 0.0),
    (None, None), ("", None), ("soon", None), ("-5", None), ("1.5", None), ("2 minutes", None),
    ("Tue, 14 Nov 2023 22:14:50 -0000", None),  # -0000 means no known zone
    ("²", None), ("٣", None),  # digits, but not ASCII DIGIT
])
def test_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(answer_at(value)) == seconds


def test_retry_after() -> None:
    t = Traffic()
    t("GET", "/v1/me", 200, {"id": "u"})
    ok(check("SS-RATE-1", "retry_after", t), reached=0)
    t.throttled("30")
    t.throttled(formatdate(t.now + 3000, usegmt=True))
    ok(check("SS-RATE-1", "retry_after", t), reached=2)


@pytest.mark.parametrize(("value", "says"), [
    (None, "a 429 without a valid Retry-After"),
    ("in a bit", "a 429 without a valid Retry-After"),
    ("7200", "Retry-After asks for 7200 s (at most 3600)"),
])
def test_retry_after_violated(value: str | None, says: str) -> None:
    t = Traffic()
    t.throttled("1")
    t.throttled(value)
    broken(check("SS-RATE-1", "retry_after", t), 2, says=says)


# ---- served_after_wait ---------------------------------------------------------------


def test_served_after_wait() -> None:
    t = Traffic()
    t.throttled("2")
    t("GET", "/v1/interviews/i1", 200, {"id": "i1"}, wait=1)  # another request
    t.throttled("2", wait=1.5)  # waited as asked (2.6 s after the first answer ended)
    t("GET", "/v1/me", 200, {"id": "u"}, wait=3)
    ok(check("SS-RATE-3", "served_after_wait", t), reached=1)


def test_served_after_wait_violated() -> None:
    t = Traffic()
    t.throttled("2")
    for _ in range(5):
        t.throttled("2", wait=3)
    t("GET", "/v1/me", 200, {"id": "u"}, wait=3)
    broken(check("SS-RATE-3", "served_after_wait", t), 1, 2, 3, 4, 5, 6,
           says="still 429 after 5 retries that waited as Retry-After said")


def test_served_after_wait_ignores_early_retries() -> None:
    t = Traffic()
    t.throttled("10")
    for _ in range(6):
        t.throttled("10", wait=1)  # never waited 10 s: no evidence against the server
    ok(check("SS-RATE-3", "served_after_wait", t), reached=0)


def test_served_after_wait_not_reached() -> None:
    t = Traffic()
    t.throttled("1")
    t("GET", "/v1/interviews/i1", 200, {"id": "i1"}, wait=5)
    ok(check("SS-RATE-3", "served_after_wait", t), reached=0)


# ---- redirect_download ---------------------------------------------------------------


def fetch(t: Traffic, status: int = 200, raw: bytes | None = None, url: str = FILES) -> Exchange:
    return t("GET", "", status, raw=a_zip() if raw is None else raw, ctype="application/zip",
             url=url, origin="external", credential="none")


def test_redirect_download() -> None:
    t = Traffic()
    t("GET", "/v1/packages/p1/zip", 302, ctype=None, headers={"Location": FILES})
    fetch(t)
    t("GET", "/v1/packages/p2/zip", 302, ctype=None, headers={"Location": "/dl/p2.zip"})
    fetch(t, url=BASE + "/dl/p2.zip")  # a relative Location resolves against the request
    ok(check("SS-PKG-1", "redirect_download", t), reached=2)


def test_redirect_download_not_reached() -> None:
    t = Traffic()
    t("GET", "/v1/packages/p1/zip", 404, ERROR)
    t("GET", "/v1/packages/p1/zip", 302, ctype=None, headers={"Location": FILES})  # not fetched
    t("GET", "/v1/packages/p1/zip", 401, ERROR, credential="missing")
    fetch(t, url="https://files.test/other.zip")
    ok(check("SS-PKG-1", "redirect_download", t), reached=0)


def corrupt_zip() -> bytes:
    data = bytearray(a_zip())
    start = data.index(b"spec/README.md") + len(b"spec/README.md")
    for i in range(start, start + 16):  # scramble the deflate stream of the only member
        data[i] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(("status", "raw", "says"), [
    (403, b"<Error>AccessDenied</Error>", "fetched without the key: got 403"),
    (200, b"<html>login</html>", "not a zip archive"),
    (200, b"", "not a zip archive"),
    (200, corrupt_zip(), "fetched without the key:"),
])
def test_redirect_download_bad_fetch(status: int, raw: bytes, says: str) -> None:
    t = Traffic()
    t("GET", "/v1/packages/p1/zip", 302, ctype=None, headers={"Location": FILES})
    fetch(t, status, raw)
    broken(check("SS-PKG-1", "redirect_download", t), 1, 2, says=says)


@pytest.mark.parametrize(("status", "headers"), [(200, {}), (302, {}), (301, {"Location": FILES})])
def test_redirect_download_wrong_answer(status: int, headers: dict[str, str]) -> None:
    t = Traffic()
    t("GET", "/v1/packages/p1/zip", status, raw=a_zip(), ctype="application/zip",
      headers=headers)
    broken(check("SS-PKG-1", "redirect_download", t), 1,
           says=f"expected 302 with a Location, got {status}")
