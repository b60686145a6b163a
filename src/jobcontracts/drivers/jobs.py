"""Convert/goal jobs traffic, as the SDK's methods make it (jobs-sdk-types.md,
with the wire CONTRACT-DEFAULTS fixes under it).

The driver says *what* to send and waits on the run's clock; it asserts
nothing. Paths come from the contract's endpoints, the poll pace and the
deadline from its settings (overridden by the run's options), and the inputs
that steer a job to a pause, a failure or a partial end from its test-mode
settings ("Reaching every branch"), which a team points at its own staging
fixtures. Creating a convert or goal job is paid: each create that should
make one takes from the run's paid allowance first.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from httpx._multipart import FileField, MultipartStream

from ..budget import Allowance
from ..client import Client
from ..contract import Contract
from ..progress import NO_PROGRESS, Progress
from ..session import RunOptions, ScenarioError
from ..trace import Exchange
from .specstep import body_of

Job = Mapping[str, Any]
Hook = Callable[[str, Job], object]
_UNSET: Any = object()
#: A goal text with none of the default test-mode words in it.
PLAIN_GOAL = "Summarise the attached report for the board"


class JobsDriver:
    def __init__(self, client: Client, contract: Contract) -> None:
        self.client = client
        s = contract.settings
        self.poll_interval = float(s.get("poll_interval_seconds", 2))
        self.deadline = float(s.get("deadline_seconds", 600))
        self.goal_words: dict[str, str] = {str(k): str(v) for k, v in
                                           dict(s.get("goal_text_words", {})).items()}
        self.convert_words: dict[str, str] = {str(k): str(v) for k, v in
                                              dict(s.get("convert_filename_words", {})).items()}
        self.processors = [str(p) for p in s.get("processors", [])]
        self.quota_tools = [str(t) for t in s.get("quota_tools", [])]
        self.terminal_events = [str(t) for t in s.get("terminal_events", ["completed", "failed"])]
        self.goal_terminal = frozenset(str(t) for t in s.get("goal_terminal", []))
        self.convert_terminal = frozenset(contract.machines["convert"].terminal)
        self._path = {name: e.template for name, e in contract.endpoints.items()}
        self._boundaries = itertools.count(1)
        self.paid: Allowance | None = None
        self.progress: Progress = NO_PROGRESS

    def configure(self, options: RunOptions) -> None:
        """Apply the run's options: poll pace, deadline, the paid-job budget."""
        self.progress = options.progress
        if options.poll_interval is not None:
            self.poll_interval = options.poll_interval
        if options.deadline is not None:
            self.deadline = options.deadline
        self.paid = options.generations

    def path(self, endpoint: str, **params: str) -> str:
        return self._path[endpoint].fill(**params)

    def _spend(self, paid: bool, keep: int) -> None:
        if paid and self.paid is not None:
            self.paid.take(keep=keep)

    # ---- test-mode inputs (contract settings) -----------------------------------------
    def goal_text(self, *fates: str, base: str = PLAIN_GOAL) -> str:
        """A goal text with the test-mode words of `fates` (`slots`, `preview`,
        `fail`, `partial`) in it; none gives a plain goal."""
        words = [self.goal_words[f] for f in fates]
        return f"{base} ({' '.join(words)})" if words else base

    def filename(self, fate: str | None = None, stem: str = "report", suffix: str = ".pdf") -> str:
        """An input filename with the test-mode word of `fate` (`fail`, `corrupt`)."""
        return f"{stem}-{self.convert_words[fate]}{suffix}" if fate else f"{stem}{suffix}"

    # ---- files ------------------------------------------------------------------------
    def upload(self, filename: str | None = "report.pdf", content: bytes = b"%PDF-1.4 report",
               content_type: str | None = "application/pdf", *, part: str = "file",
               credential: str = "valid", note: str = "") -> Exchange:
        """POST /v1/files, multipart/form-data with one part named `part` (a
        `content_type` of None sends the part with no Content-Type)."""
        body, kind = self.multipart({part: (filename, content, content_type)})
        return self.client.request("POST", self.path("upload_file"), content=body,
                                   headers={"Content-Type": kind}, credential=credential,
                                   note=note or "upload")

    def multipart(self, files: Mapping[str, tuple[str | None, bytes, str | None]],
                  fields: Mapping[str, str] | None = None) -> tuple[bytes, str]:
        """A multipart/form-data body, by httpx's own encoder, and its Content-Type.
        The boundary is numbered, so a recorded run sends the same bytes again."""
        boundary = f"jobcontracts-{next(self._boundaries):06d}".encode()
        stream = MultipartStream(data=dict(fields or {}),
                                 files={n: (f or "", c, t) for n, (f, c, t) in files.items()},
                                 boundary=boundary)
        for field in stream.fields:
            if isinstance(field, FileField) and files[field.name][2] is None:
                field.headers.pop("Content-Type", None)  # httpx would guess one
        return b"".join(stream.iter_chunks()), stream.content_type

    def get_file(self, file_id: str, *, credential: str = "valid", note: str = "") -> Exchange:
        return self.client.request("GET", self.path("get_file", file_id=file_id),
                                   credential=credential, note=note)

    def file_id(self, filename: str = "report.pdf", content: bytes = b"%PDF-1.4 report") -> str:
        """Upload a file and read it back: its id."""
        ex = self.upload(filename, content)
        file_id = body_of(ex, 201).get("file_id")
        if not isinstance(file_id, str) or not file_id:
            raise ScenarioError(f"POST {ex.path} (#{ex.seq}) returned no file_id")
        self.get_file(file_id)
        return file_id

    # ---- convert jobs -----------------------------------------------------------------
    def create_convert(self, file_ids: Any = _UNSET, processor_type: Any = _UNSET, *,
                       body: Any = _UNSET, paid: bool = True, keep: int = 0,
                       credential: str = "valid", note: str = "") -> Exchange:
        """POST /v1/convert. A `paid` request (one that should create a job)
        spends the run's budget first, leaving `keep`, or raises BudgetExceeded."""
        self._spend(paid, keep)
        if body is _UNSET:
            body = {k: v for k, v in (("file_ids", file_ids), ("processor_type", processor_type))
                    if v is not _UNSET}
        return self.client.request("POST", self.path("create_convert"), json=body,
                                   credential=credential, note=note)

    def get_convert(self, job_id: str, *, credential: str = "valid", note: str = "") -> Exchange:
        return self.client.request("GET", self.path("get_convert", job_id=job_id),
                                   credential=credential, note=note)

    def convert(self, fate: str | None = None, processor: str | None = None, *,
                keep: int = 0, download: bool = True) -> dict[str, Any]:
        """Upload an input (its name carrying `fate`'s word), convert it, poll
        the job to its end, fetch every result file and read the job once
        more (an ended job stays as it ended): the last poll."""
        file_id = self.file_id(self.filename(fate))
        ex = self.create_convert([file_id], processor or self.processors[0], keep=keep,
                                 note=f"convert ({fate or 'plain'})")
        job_id = _id(ex, "job_id", 202)
        job = self.poll(job_id, "get_convert", "convert job", self.convert_terminal)
        self.get_file(file_id, note="the consumed input")
        if download:
            self.download(job)
        self.get_convert(job_id, note="the ended job again")
        return job

    def download(self, job: Job) -> list[Exchange]:
        """Fetch every result file's presigned URL with no credential."""
        files = job.get("result_files")
        return [self.client.fetch(f["url"], note="presigned download")
                for f in files if isinstance(f, dict) and isinstance(f.get("url"), str)
                ] if isinstance(files, list) else []

    # ---- goal jobs --------------------------------------------------------------------
    def create_goal(self, goal_text: Any = _UNSET, file_ids: Any = _UNSET,
                    workflow_id: Any = None, *, body: Any = _UNSET, paid: bool = True,
                    keep: int = 0, credential: str = "valid", note: str = "") -> Exchange:
        """POST /v1/goals (paid, as `create_convert`)."""
        self._spend(paid, keep)
        if body is _UNSET:
            body = {k: v for k, v in (("goal_text", goal_text), ("file_ids", file_ids),
                                      ("workflow_id", workflow_id)) if v is not _UNSET}
        return self.client.request("POST", self.path("create_goal"), json=body,
                                   credential=credential, note=note)

    def get_goal(self, job_spec_id: str, *, credential: str = "valid",
                 note: str = "") -> Exchange:
        return self.client.request("GET", self.path("get_goal", job_spec_id=job_spec_id),
                                   credential=credential, note=note)

    def confirm(self, job_spec_id: str, *, credential: str = "valid", note: str = "") -> Exchange:
        return self.client.request("POST", self.path("confirm_goal", job_spec_id=job_spec_id),
                                   credential=credential, note=note or "confirm")

    def cancel(self, job_spec_id: str, *, credential: str = "valid", note: str = "") -> Exchange:
        return self.client.request("POST", self.path("cancel_goal", job_spec_id=job_spec_id),
                                   credential=credential, note=note or "cancel")

    def fill(self, job_spec_id: str, slot_id: str, value: Any = _UNSET, *, body: Any = _UNSET,
             credential: str = "valid", note: str = "") -> Exchange:
        """POST a slot's value (`{"value": value}`, or any other `body`)."""
        if body is _UNSET:
            body = {"value": value}
        path = self.path("fill_slot", job_spec_id=job_spec_id, slot_id=slot_id)
        return self.client.request("POST", path, json=body, credential=credential,
                                   note=note or f"fill {slot_id}")

    def start_goal(self, *fates: str, file_ids: Sequence[str] | None = None,
                   workflow_id: str | None = None, keep: int = 0, note: str = "") -> str:
        """Create a goal job (its text carrying the words of `fates`) and poll it once."""
        ids = list(file_ids) if file_ids is not None else [self.file_id()]
        ex = self.create_goal(self.goal_text(*fates), ids, workflow_id, keep=keep,
                              note=note or f"goal ({' '.join(fates) or 'plain'})")
        job_spec_id = _id(ex, "job_spec_id", 202)
        self.get_goal(job_spec_id)
        return job_spec_id

    def goal(self, job_spec_id: str) -> dict[str, Any]:
        return body_of(self.get_goal(job_spec_id), 200)

    def poll_goal(self, job_spec_id: str, until: Callable[[Job], bool] | None = None, *,
                  on_slots: Hook | None = None, on_ready: Hook | None = None) -> dict[str, Any]:
        """Poll until `until(job)` (default: a terminal status), calling
        `on_slots` while it waits in `slots_pending` (default: fill every
        pending slot lawfully) and `on_ready` in `ready`/`ready_with_preview`
        (default: confirm)."""
        slots = on_slots or (lambda i, job: self.fill_all(i, job))
        ready = on_ready or (lambda i, job: self.confirm(i))

        def tick(job: Job) -> None:
            if job.get("status") == "slots_pending":
                slots(job_spec_id, job)
            elif job.get("status") in ("ready", "ready_with_preview"):
                ready(job_spec_id, job)

        return self.poll(job_spec_id, "get_goal", "goal job", self.goal_terminal, until, tick)

    def fill_all(self, job_spec_id: str, job: Job) -> list[Exchange]:
        """Fill every pending slot with a lawful value (`lawful_value`)."""
        return [self.fill(job_spec_id, slot["slot_id"], lawful_value(slot))
                for slot in pending_slots(job)]

    # ---- goal events ------------------------------------------------------------------
    def events(self, job_spec_id: str, after_seq: int | None = None, *,
               stop_after: int | None = None, deadline: float | None = None,
               credential: str = "valid", note: str = "") -> Exchange:
        """Read the job's event WebSocket to its end (the server closes after
        the terminal event), or hang up after `stop_after` messages; resume
        after event `after_seq`."""
        params = {} if after_seq is None else {"after_seq": after_seq}
        what = "events" if after_seq is None else f"events after {after_seq}"
        self.progress.update("goal job", job_spec_id, "reading events", detail=what)
        return self.client.websocket(
            self.path("goal_events", job_spec_id=job_spec_id), params=params,
            deadline=self.deadline if deadline is None else deadline,
            until=self.terminal_events, stop_after=stop_after, credential=credential,
            note=note or what)

    def resumed_events(self, job_spec_id: str, first: int = 3) -> tuple[Exchange, Exchange]:
        """Read `first` events and hang up, then resume after the last seq seen
        and read to the end."""
        head = self.events(job_spec_id, stop_after=first, note=f"first {first} events")
        seqs = [m["seq"] for m in head.ws_json
                if isinstance(m, dict) and isinstance(m.get("seq"), int)]
        if not seqs:
            raise ScenarioError(f"#{head.seq}: the event stream sent no event with a seq")
        return head, self.events(job_spec_id, after_seq=seqs[-1])

    # ---- marketplace ------------------------------------------------------------------
    def search(self, q: str | None = None, cursor: str | None = None, limit: int | None = None,
               *, credential: str = "valid", note: str = "") -> Exchange:
        query = {k: v for k, v in (("q", q), ("cursor", cursor), ("limit", limit))
                 if v is not None}
        path = self.path("search_workflows")
        if query:
            path += "?" + str(httpx.QueryParams(query))
        return self.client.request("GET", path, credential=credential, note=note)

    def search_all(self, q: str | None = None, limit: int | None = None,
                   max_pages: int = 50) -> list[str]:
        """Every page of a search, to `cursor: null`; the ids of the items."""
        ids: list[str] = []
        cursor: str | None = None
        for _ in range(max_pages):
            page = body_of(self.search(q, cursor, limit, note="search page"), 200)
            items = page.get("items")
            ids += [i["workflow_id"] for i in items if isinstance(i, dict) and isinstance(
                i.get("workflow_id"), str)] if isinstance(items, list) else []
            cursor = page.get("cursor")
            if not isinstance(cursor, str):
                return ids
        raise ScenarioError(f"search {q!r} did not end within {max_pages} pages")

    def workflow(self, workflow_id: str, *, credential: str = "valid", note: str = "") -> Exchange:
        return self.client.request("GET", self.path("get_workflow", workflow_id=workflow_id),
                                   credential=credential, note=note)

    def like(self, workflow_id: str, *, credential: str = "valid", note: str = "") -> Exchange:
        return self.client.request("POST", self.path("like_workflow", workflow_id=workflow_id),
                                   credential=credential, note=note or "like")

    def patch(self, workflow_id: str, body: Any, *, credential: str = "valid",
              note: str = "") -> Exchange:
        return self.client.request("PATCH", self.path("patch_workflow", workflow_id=workflow_id),
                                   json=body, credential=credential, note=note)

    def like_twice(self, workflow_id: str) -> None:
        """Like, read, like again, read: the toggle and its count."""
        for _ in range(2):
            self.like(workflow_id)
            self.workflow(workflow_id, note="after like")

    def patch_current_and_stale(self, workflow_id: str, changes: Mapping[str, Any]) -> None:
        """PATCH with the current item_version, then again with that (now stale)
        version, reading the workflow around each."""
        version = body_of(self.workflow(workflow_id), 200).get("item_version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise ScenarioError(f"workflow {workflow_id} has no integer item_version")
        self.patch(workflow_id, {"item_version": version, **changes}, note="current version")
        self.workflow(workflow_id, note="after patch")
        self.patch(workflow_id, {"item_version": version, **changes}, note="stale version")
        self.workflow(workflow_id, note="after stale patch")

    def patch_while_throttled(self, workflow_ids: Sequence[str], limit: int) -> Exchange | None:
        """Read a workflow until the rate limit refuses a read, then PATCH it
        with its current version, once, and read it again (waiting as
        `Retry-After` says): a refused PATCH between two reads of an unwritten
        workflow. A limiter that refills fast may let the PATCH through; then
        the next workflow (still unwritten) gets the same, all within `limit`
        requests, each sent once. The last PATCH, or None if no read was
        refused."""
        patched = None
        spent = 0
        tries = self.client.max_429_tries
        try:
            for workflow_id in workflow_ids:
                last = body_of(self.workflow(workflow_id), 200)  # Retry-After honoured
                spent += 1
                self.client.max_429_tries = 0
                while spent < limit - 1:
                    ex = self.workflow(workflow_id, note="rate-limit burst")
                    spent += 1
                    if ex.status == 200 and isinstance(ex.json, dict):
                        last = ex.json
                    if ex.status == 429:
                        break
                else:
                    break
                patched = self.patch(workflow_id, {"item_version": last.get("item_version"),
                                                   "name": "Throttled rename"},
                                     note="PATCH while throttled")
                spent += 1
                self.client.max_429_tries = tries
                self.workflow(workflow_id, note="after the throttled PATCH")
                if patched.status == 429:
                    break
        finally:
            self.client.max_429_tries = tries
        return patched

    # ---- billing ----------------------------------------------------------------------
    def plan(self, *, credential: str = "valid", note: str = "") -> Exchange:
        return self.client.request("GET", self.path("get_plan"), credential=credential,
                                   note=note)

    def quota(self, tools: Sequence[str] | str | None, max_iterations: int | str | None = None,
              *, credential: str = "valid", note: str = "") -> Exchange:
        query: dict[str, str] = {}
        if tools is not None:
            query["tools"] = tools if isinstance(tools, str) else ",".join(tools)
        if max_iterations is not None:
            query["max_iterations"] = str(max_iterations)
        path = self.path("get_quota")
        if query:
            path += "?" + str(httpx.QueryParams(query))
        return self.client.request("GET", path, credential=credential, note=note)

    # ---- polling ----------------------------------------------------------------------
    def poll(self, job_id: str, endpoint: str, what: str, terminal: frozenset[str],
             until: Callable[[Job], bool] | None = None,
             on_tick: Callable[[Job], object] | None = None) -> dict[str, Any]:
        """Poll every `poll_interval` s until `until(job)` (default: terminal),
        calling `on_tick` with each job; a terminal job `until` does not accept,
        or the deadline, ends the scenario."""
        done = until or (lambda job: job.get("status") in terminal)
        param = "job_id" if endpoint == "get_convert" else "job_spec_id"
        start = self.client.clock.now()
        while True:
            ex = self.client.request("GET", self.path(endpoint, **{param: job_id}))
            job = body_of(ex, 200)
            self.progress.observe(what, job_id, job, state="status", percent="progress")
            if done(job):
                return job
            status = job.get("status")
            if status in terminal:
                raise ScenarioError(f"{what} {job_id} ended {status!r}")
            if on_tick is not None:
                on_tick(job)
            if self.client.clock.now() - start > self.deadline:
                raise ScenarioError(f"{what} {job_id} still {status!r} after {self.deadline:g} s")
            self.client.clock.sleep(self.poll_interval)


def pending_slots(job: Job) -> list[dict[str, Any]]:
    """The well-formed pending slots of a job (those with a string slot_id)."""
    slots = job.get("pending_slots")
    return [s for s in slots if isinstance(s, dict) and isinstance(s.get("slot_id"), str)
            ] if isinstance(slots, list) else []


def option_values(slot: Mapping[str, Any]) -> list[Any] | None:
    """A slot's lawful values: its string options and `{"value"}` options'
    values; None for a free-text slot."""
    options = slot.get("options")
    if not isinstance(options, list):
        return None
    return [o.get("value") if isinstance(o, dict) else o for o in options]


def lawful_value(slot: Mapping[str, Any]) -> Any:
    """One of a slot's options (the suggested one if it is among them), else text."""
    values = option_values(slot)
    if values:
        suggested = slot.get("suggested_value")
        return suggested if suggested in values else values[0]
    return "finance-team@example.com"


def _id(ex: Exchange, field: str, *statuses: int) -> str:
    value = body_of(ex, *statuses).get(field)
    if not isinstance(value, str) or not value:
        raise ScenarioError(f"{ex.method} {ex.path} (#{ex.seq}) returned no {field}")
    return value
