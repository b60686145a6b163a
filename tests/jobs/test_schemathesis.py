"""schemathesis over the contract's exported OpenAPI document
(`jobcontracts openapi jobs`): no 5xx, documented statuses, JSON bodies,
invalid requests refused, and every JOB-* rule on each case. The event
WebSocket is left to the stream rules; the upload is fuzzed as the
multipart form the contract documents (a case without its `file` part must
be refused; one with only that part is echoed back). Ids are real three
times in four on the simulator: a file, a goal job in each of several
fates, a convert job, the marketplace's workflows (a live fuzz leaves the
paid creates out and starts nothing)."""

from pathlib import Path

import pytest
from hypothesis import settings
from schemathesis.config import OperationConfig

from jobcontracts.drivers.specstep import body_of
from jobcontracts.fuzzing import Fuzz, api_schema

pytestmark = pytest.mark.api("jobs")

SCHEMA = api_schema(Path(__file__).parents[2] / "contracts" / "jobs.yaml")
# The coverage phase's cases with methods no endpoint has (405s) judge nothing
# a JOB-* rule says; left out, the in-process suite keeps to its 5 s.
SCHEMA.config.phases.coverage.enabled = False


def fuzz_for(jobs):
    """The run's Fuzz; each pool is made the first time a case needs it (an
    operation without that path parameter costs nothing)."""
    if not hasattr(jobs, "fuzz"):
        d = jobs.driver
        made = {}

        def pool(name, make):
            def ids():
                if name not in made:
                    made[name] = make()
                return made[name]
            return ids

        files = pool("file_id", lambda: [d.file_id()])

        def goals():
            if jobs.live:
                return []
            return [d.start_goal(*fates, file_ids=files()) for fates in [("slots",), ("partial",)]]

        def converts():
            if jobs.live:
                return []
            return [body_of(d.create_convert(files(), d.processors[0]), 202)["job_id"]]

        jobs.fuzz = Fuzz(jobs, {
            "file_id": files, "job_spec_id": pool("job_spec_id", goals),
            "job_id": pool("job_id", converts),
            "workflow_id": pool("workflow_id", lambda: d.search_all(limit=50)[:5]),
            "slot_id": lambda: ["output_format", "recipient"]})
    return jobs.fuzz


#: Few cases per operation (schemathesis takes tens of milliseconds to draw
#: each): the jobs suite keeps to its 5 s in-process; a profile with fewer
#: examples still wins.
CASES = min(settings().max_examples, 5)


#: The upload is the only fuzz of a multipart form, and its refusal (no
#: `file` part) is one negative case among many: it gets more cases (as many
#: as `test_files.py`'s own property test of names and sizes).
UPLOAD = {"path": "/v1/files", "method": "POST"}
UPLOAD_CASES = min(settings().max_examples, 12)
# Its coverage cases too: they include the form without its `file` part and
# the request with no body, which random cases missed for 6 seeds in 40.
SCHEMA.config.operations.operations.append(OperationConfig.from_dict(
    {"include-name": f"{UPLOAD['method']} {UPLOAD['path']}",
     "phases": {"coverage": {"enabled": True}}}))


@SCHEMA.exclude(**UPLOAD).parametrize()
@settings(max_examples=CASES)
def test_exported_document(case, jobs):
    fuzz_for(jobs).check(case)
    if not jobs.live:
        jobs.client.clock.sleep(2)  # on the simulator's clock, the jobs move on between cases


@SCHEMA.include(**UPLOAD).parametrize()
@settings(max_examples=UPLOAD_CASES)
def test_exported_upload_form(case, jobs):
    fuzz_for(jobs).check(case)
