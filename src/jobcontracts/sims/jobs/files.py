"""Uploaded files and the result files jobs produce.

An upload keeps its metadata only (name, size, type), not its bytes: a
convert job needs no more to plan its results. A result file is served at a
presigned URL outside `/v1`, `/files/download/{result_id}?se=…&sp=r&sig=…`
(`UrlSigner`), signed once when the job completes so that `result_files`
reads the same on every poll ever after (JOB-CONV-1). Its body is `size`
bytes of a repeating text, generated on the fly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from jobcontracts.sims.common import UrlSigner

DOWNLOAD_PREFIX = "/files/download/"
#: Presigned result URLs stay valid this long (simulated seconds): a week.
RESULT_URL_TTL = 7 * 24 * 3600.0
#: The largest result file served, whatever the input's size.
MAX_RESULT_BYTES = 1 << 20
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass
class StoredFile:
    """One uploaded input file (`File` on the wire)."""

    file_id: str
    owner: str
    filename: str
    size: int
    content_type: str
    created_at: float
    job_id: str | None = None
    is_input: bool = True


@dataclass(frozen=True)
class ResultBlob:
    """One result file: what `ResultFile` shows, and where it is served."""

    result_id: str
    filename: str
    size: int
    mimetype: str
    path_and_query: str

    def url(self, base: str) -> str:
        return base + self.path_and_query

    def body(self) -> bytes:
        pattern = f"{self.filename} result; ".encode("utf-8", "replace") or b"."
        repeats = self.size // len(pattern) + 1
        return (pattern * repeats)[: self.size]


@dataclass
class FileBook:
    """Every upload and result file of one simulator."""

    mint: Callable[[str], str]
    signer: UrlSigner
    uploads: dict[str, StoredFile] = field(default_factory=dict)
    results: dict[str, ResultBlob] = field(default_factory=dict)

    def upload(self, owner: str, filename: str, size: int, content_type: str,
               now: float) -> StoredFile:
        stored = StoredFile(self.mint("file"), owner, filename, size, content_type, now)
        self.uploads[stored.file_id] = stored
        return stored

    def find(self, owner: str, file_id: str) -> StoredFile | None:
        stored = self.uploads.get(file_id)
        return stored if stored is not None and stored.owner == owner else None

    def result(self, filename: str, size: int, mimetype: str, signed_at: float) -> ResultBlob:
        """A new result file, its URL signed at `signed_at`."""
        result_id = self.mint("res")
        path = DOWNLOAD_PREFIX + result_id
        blob = ResultBlob(result_id, filename, min(max(0, size), MAX_RESULT_BYTES), mimetype,
                          f"{path}?{self.signer.query(path, signed_at)}")
        self.results[result_id] = blob
        return blob
