"""Shared helpers for the POS simulator selftests: the simulator on a virtual
clock, the OpenAPI document's schemas (loaded as published), and `Rules`, a
by-hand checker of every `POS-*` rule of CONTRACT-DEFAULTS.md."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from jobcontracts.clock import VirtualClock
from jobcontracts.sims.pos import DEFAULT_API_KEY, PosSimulator

if TYPE_CHECKING:
    from referencing._core import Resolver

ROOT = Path(__file__).resolve().parents[1]
OPENAPI_NAME = "pos-adapter-scripts.openapi.yaml"
OPENAPI_PATH = ROOT / "specs" / OPENAPI_NAME
OPENAPI_URI = "https://pos.sim/openapi.yaml"
BASE = "https://pos.sim"
PREFIX = "/api/v1/adapter-scripts"
GET_JOB = "/api/v1/adapter-scripts/jobs/{jobId}"
KEY = {"X-Api-Key": DEFAULT_API_KEY}
OTHER_KEY = "pos_test_other_key"

STATUSES = ("pending", "running", "needs_clarification", "completed", "failed")
STAGES = ("queued", "gathering", "generating", "testing", "retrying", "done")
#: POS-PROJ-1: the stages each status may show with (needs_clarification: any).
STAGES_OF: dict[str, set[str]] = {
    "pending": {"queued"},
    "running": {"gathering", "generating", "testing", "retrying"},
    "needs_clarification": set(STAGES) - {"queued"},
    "completed": {"done"},
    "failed": {"done"},
}
TERMINAL = {"completed", "failed"}
GENERATE_202 = {
    "type": "object",
    "properties": {"jobId": {"type": "integer"}},
    "required": ["jobId"],
}


def load_openapi() -> dict[str, Any]:
    """The OpenAPI document as published (the project's copy, specs/)."""
    document: dict[str, Any] = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    return document


def inline(node: Any, resolver: Resolver[Any]) -> Any:
    """`node` with every `$ref` replaced by what it points to (the document
    has no cycles), each looked up by `referencing` exactly as written."""
    if isinstance(node, dict):
        if "$ref" in node:
            resolved = resolver.lookup(node["$ref"])
            return inline(resolved.contents, resolved.resolver)
        return {key: inline(value, resolver) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(value, resolver) for value in node]
    return node


class Schemas:
    """Validators for the GET operation's documented responses. The document's
    `$ref`s (one names a schema holding spaces and braces) are resolved as they
    stand, through a `referencing` registry holding the whole document: either
    by reference (`by_ref`) or inlined once (`validators`, faster)."""

    def __init__(self, document: dict[str, Any]) -> None:
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        registry: Registry[Any] = Registry().with_resource(OPENAPI_URI, resource)
        responses = document["paths"][GET_JOB]["get"]["responses"]
        self.refs = {
            int(status): response["content"]["application/json"]["schema"]["$ref"]
            for status, response in responses.items()
        }
        self.by_ref = {
            status: jsonschema.Draft202012Validator({"$ref": OPENAPI_URI + ref}, registry=registry)
            for status, ref in self.refs.items()
        }
        resolver = registry.resolver(OPENAPI_URI)
        self.validators = {
            status: jsonschema.Draft202012Validator(inline({"$ref": ref}, resolver))
            for status, ref in self.refs.items()
        }
        self.generate = jsonschema.Draft202012Validator(GENERATE_202)
        self._seen: dict[tuple[int, bool, bytes], list[str]] = {}

    def problems(self, status: int, body: Any, *, created: bool = False) -> list[str]:
        """Why `body` does not match the schema for `status` (4xx: the error
        envelope of the 404; 202 from generate: `{"jobId": int}`)."""
        if created:
            validator = self.generate
        elif status == 200:
            validator = self.validators[200]
        elif 400 <= status < 500:
            validator = self.validators[404]
        else:
            return [f"undocumented status {status}"]
        return [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(body)
        ]

    def check(self, response: httpx.Response, *, created: bool = False) -> list[str]:
        """`problems` of a response, remembered by its bytes (polls repeat themselves)."""
        key = (response.status_code, created, response.content)
        if key not in self._seen:
            self._seen[key] = self.problems(
                response.status_code, body_of(response), created=created
            )
        return self._seen[key]


SCHEMAS = Schemas(load_openapi())


def parse_time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def body_of(response: httpx.Response) -> Any:
    return json.loads(response.content)


class PosApi:
    """A simulator on a virtual clock, and requests straight into its handler
    (the same `httpx.Request` a client sends, without a client's overhead)."""

    def __init__(
        self,
        faults: Iterable[str] = (),
        *,
        seed: int = 7,
        rate_limit: tuple[float, float] | None = None,
        api_keys: tuple[str, ...] = (DEFAULT_API_KEY, OTHER_KEY),
        variant: int = 0,
        retry_429: bool = False,
    ) -> None:
        self.clock = VirtualClock()
        self.sim = PosSimulator(
            clock=self.clock,
            seed=seed,
            faults=set(faults),
            api_keys=api_keys,
            rate_limit=rate_limit,
            variant=variant,
        )
        #: Wait as `Retry-After` says and send again (a variant may rate-limit).
        self.retry_429 = retry_429
        self.client = httpx.Client(
            base_url=BASE, transport=httpx.MockTransport(self.sim.handle), headers=KEY
        )

    def send(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        request = httpx.Request(
            method, BASE + path, headers=KEY if headers is None else headers, **kw
        )
        response = self.sim.handle(request)
        for _ in range(10):
            if not self.retry_429 or response.status_code != 429:
                break
            self.clock.sleep(float(response.headers["retry-after"]))
            response = self.sim.handle(request)
        return response

    def create(self, topic: str, provider: str = "Square") -> int:
        response = self.send(
            "POST", f"{PREFIX}/generate", json={"provider": provider, "topic": topic}
        )
        assert response.status_code == 202, response.text
        return int(body_of(response)["jobId"])

    def job(self, job_id: int | str) -> dict[str, Any]:
        response = self.send("GET", f"{PREFIX}/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = body_of(response)["job"]
        return job

    def respond(self, job_id: int | str, answer: Any = "Use the v2 API.") -> httpx.Response:
        return self.send("POST", f"{PREFIX}/jobs/{job_id}/respond", json={"humanResponse": answer})

    def run(
        self, job_id: int, step: float = 3.0, answer: str = "Use the v2 API."
    ) -> list[dict[str, Any]]:
        """Poll to the end, answering any clarification; every record seen."""
        seen: list[dict[str, Any]] = []
        for _ in range(500):
            job = self.job(job_id)
            seen.append(job)
            if job["status"] in TERMINAL:
                return seen
            if job["status"] == "needs_clarification":
                assert self.respond(job_id, answer).status_code == 200
            self.clock.sleep(step)
        raise AssertionError(f"job {job_id} never finished")


class Rules:
    """Records which `POS-*` rules the traffic it is shown breaks."""

    def __init__(self) -> None:
        self.broken: dict[str, list[str]] = {}

    def flag(self, rule: str, ok: bool, detail: str) -> None:
        if not ok:
            self.broken.setdefault(rule, []).append(detail)

    def response(self, where: str, response: httpx.Response, *, created: bool = False) -> Any:
        """POS-SCHEMA-1 (and POS-PROJ-4, POS-PROJ-1..3 for a job) on one answer."""
        status = response.status_code
        where = f"{where} -> {status}"
        assert response.headers["content-type"] == "application/json", where
        body = body_of(response)
        self.flag("POS-SCHEMA-1", status < 500, where)
        if status < 500:
            problems = SCHEMAS.check(response, created=created)
            self.flag("POS-SCHEMA-1", not problems, f"{where}: {problems}")
        if status == 200:
            self.flag(
                "POS-PROJ-4",
                body.get("isSuccess") is True and body.get("code") == 200,
                f"{where}: isSuccess {body.get('isSuccess')!r}, code {body.get('code')!r}",
            )
            if isinstance(body.get("job"), dict):
                self.job(body["job"], where)
        return body

    def job(self, job: dict[str, Any], where: str = "") -> None:
        status, stage = job.get("status"), job.get("stage")
        clarification = job.get("clarification")
        self.flag(
            "POS-PROJ-1",
            status in STAGES_OF
            and stage in STAGES_OF[status]
            and (status != "needs_clarification" or bool(clarification)),
            f"{where}: {status}/{stage} clarification {clarification!r:.40}",
        )
        script_id = job.get("resultScriptId")
        self.flag(
            "POS-PROJ-2",
            (script_id != 0) == (status == "completed"),
            f"{where}: {status} with resultScriptId {script_id!r}",
        )
        results = job.get("testResults") or []
        attempts = [r.get("attempt") for r in results]
        self.flag(
            "POS-PROJ-3", attempts == list(range(1, len(results) + 1)), f"attempts {attempts}"
        )
        failed_before_last = sum(r.get("passed") is False for r in results[:-1])
        self.flag(
            "POS-PROJ-3",
            job.get("retries") == failed_before_last,
            f"{where}: retries {job.get('retries')!r}, {failed_before_last} failed before the last",
        )
        for name, items in (("testResults", results), ("logs", job.get("logs") or [])):
            times = [parse_time(item.get("timestamp")) for item in items]
            valid = [t for t in times if t is not None]
            ordered = len(valid) == len(times) and all(a <= b for a, b in pairwise(valid))
            self.flag("POS-PROJ-3", ordered, f"{where}: {name} timestamps go down")
        created, updated = parse_time(job.get("createdAt")), parse_time(job.get("updatedAt"))
        self.flag(
            "POS-PROJ-3",
            created is not None and updated is not None and created <= updated,
            f"{where}: createdAt {job.get('createdAt')} > updatedAt {job.get('updatedAt')}",
        )


# =========================================================================== the audit

#: Trigger topics for every fate, and four that draw a seeded one.
AUDIT_TOPICS = (
    "orders smooth",
    "orders clarify",
    "payments flaky",
    "refunds fail",
    "menu fail-early",
    "inventory clarify flaky",
    "customers",
    "tips",
    "shifts",
    "discounts",
)
BAD_GENERATE_BODIES = (
    b"",
    b"{",
    b"[]",
    b"null",
    b'{"topic": "orders"}',
    b'{"provider": "Square"}',
    b'{"provider": 1, "topic": "orders"}',
    b'{"provider": "Square", "topic": null}',
    b'{"provider": "Square", "topic": ["orders"]}',
    b'{"provider": "Square", "topic": NaN}',
)
UNKNOWN_IDS = ("999999999", "0", "-1", "abc", "1.5", "1e3", "%20", "00", "\u0663", "9" * 40)


class Audit:
    """One scripted run through every endpoint; `run()` returns the `POS-*`
    rules broken, with what was seen. Expectations no fault may break are
    plain asserts."""

    def __init__(
        self, faults: Iterable[str] = (), *, seed: int = 7, step: float = 3.0, variant: int = 0
    ) -> None:
        # A bucket no audit empties: a variant's 429s would move the clock
        # between the polls around a probe (test_sim_pos_variants covers 429s).
        self.api = PosApi(faults, seed=seed, variant=variant, rate_limit=(1e6, 1e6))
        self.variant = variant
        self.rules = Rules()
        self.step = step
        self.records: dict[int, list[dict[str, Any]]] = {}

    def send(self, method: str, path: str, *, created: bool = False, **kw: Any) -> tuple[int, Any]:
        response = self.api.send(method, path, **kw)
        return response.status_code, self.rules.response(
            f"{method} {path}", response, created=created
        )

    def get(self, job_id: int) -> dict[str, Any]:
        status, body = self.send("GET", f"{PREFIX}/jobs/{job_id}")
        assert status == 200, body
        job: dict[str, Any] = body["job"]
        return job

    def respond(self, job_id: int | str, answer: str, **kw: Any) -> tuple[int, Any]:
        return self.send(
            "POST", f"{PREFIX}/jobs/{job_id}/respond", json={"humanResponse": answer}, **kw
        )

    def create(self, topic: str) -> int:
        body = {"provider": "Square", "topic": topic}
        status, answer = self.send("POST", f"{PREFIX}/generate", created=True, json=body)
        assert status == 202, answer
        return int(answer["jobId"])

    def bad_bodies(self) -> None:
        for content in BAD_GENERATE_BODIES:
            status, _ = self.send("POST", f"{PREFIX}/generate", content=content)
            # A JSON object that breaks the schema: 400, or 422 on some variants.
            assert status == 400 or (self.variant and status == 422), content

    def unknown_ids(self, known: int) -> None:
        for raw in UNKNOWN_IDS:
            status, _ = self.send("GET", f"{PREFIX}/jobs/{raw}")
            self.rules.flag("POS-SCHEMA-1", status == 404, f"GET job {raw!r} -> {status}")
            status, _ = self.respond(raw, "hello")
            self.rules.flag("POS-SCHEMA-1", status == 404, f"respond {raw!r} -> {status}")
        status, _ = self.send("GET", f"{PREFIX}/jobs/{known}", headers={"X-Api-Key": OTHER_KEY})
        self.rules.flag("POS-SCHEMA-1", status == 404, f"another key's job -> {status}")

    def auth(self, job_id: int) -> None:
        """POS-AUTH-1 on every endpoint, for a paused job: 401, and nothing done."""
        before = self.get(job_id)
        generate = {"provider": "Square", "topic": "orders"}
        for headers in ({}, {"X-Api-Key": "pos_wrong_key"}, {"X-Api-Key": DEFAULT_API_KEY + " "}):
            for method, path, body in (
                ("GET", f"{PREFIX}/jobs/{job_id}", None),
                ("GET", f"{PREFIX}/jobs/999999999", None),
                ("POST", f"{PREFIX}/generate", generate),
                ("POST", f"{PREFIX}/jobs/{job_id}/respond", {"humanResponse": "x"}),
            ):
                status, _ = self.send(method, path, headers=headers, json=body)
                self.rules.flag(
                    "POS-AUTH-1", status == 401, f"{method} {path} {headers} -> {status}"
                )
        self.rules.flag("POS-AUTH-1", self.get(job_id) == before, "an unauthenticated call acted")

    def probe_respond(self, job_id: int, when: str) -> None:
        """POS-RESP-1: respond to a job that is not paused gets 409 and changes nothing."""
        before = self.get(job_id)
        if before["status"] == "needs_clarification":
            return
        status, _ = self.respond(job_id, "a stray answer")
        after = self.get(job_id)
        self.rules.flag(
            "POS-RESP-1",
            status == 409 and after == before,
            f"{when}: respond to {before['status']}/{before['stage']} -> {status}, "
            f"changed: {after != before}",
        )

    def timeline(self, ids: list[int]) -> None:
        seen: set[tuple[int, str, str]] = set()
        authed = False
        for _ in range(400):
            live = [
                i
                for i in ids
                if not self.records.get(i) or self.records[i][-1]["status"] not in TERMINAL
            ]
            if not live:
                break
            for job_id in live:
                job = self.get(job_id)
                self.records.setdefault(job_id, []).append(job)
                if job["status"] == "needs_clarification":
                    if not authed:
                        self.auth(job_id)
                        authed = True
                    status, body = self.respond(job_id, f"answer for {job_id}")
                    self.rules.flag(
                        "POS-RESP-1", status == 200, f"respond to a paused job -> {status}"
                    )
                    if status == 200:
                        assert body["job"]["humanResponse"] == f"answer for {job_id}"
                        assert body["job"]["status"] == "running"
                elif (
                    job["status"] not in TERMINAL
                    and (job_id, job["status"], job["stage"]) not in seen
                ):
                    seen.add((job_id, job["status"], job["stage"]))
                    self.probe_respond(job_id, "in flight")
            self.api.clock.sleep(self.step)
        else:
            raise AssertionError("the jobs never finished")
        assert authed, "no job paused for a clarification"

    def run(self) -> dict[str, list[str]]:
        self.bad_bodies()
        ids = [self.create(topic) for topic in AUDIT_TOPICS]
        self.unknown_ids(ids[0])
        self.timeline(ids)
        self.api.clock.sleep(120)
        for job_id in ids:
            final = self.records[job_id][-1]
            later = self.get(job_id)
            assert later == final, f"job {job_id} changed after {final['status']}"
            self.probe_respond(job_id, "terminal")
        return self.rules.broken
