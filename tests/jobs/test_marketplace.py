"""The community marketplace: search pages to their end, every item found by
its id (JOB-MKT-1); like toggles (JOB-MKT-2); PATCH with the current and a
stale item_version (JOB-MKT-3). Free: nothing here is paid."""

import pytest

from jobcontracts.drivers.specstep import body_of
from jobcontracts.session import ScenarioError

pytestmark = pytest.mark.api("jobs")


def some_workflows(d, q=None, limit=None):
    ids = d.search_all(q, limit)
    if not ids:
        raise ScenarioError("the marketplace search found no workflow")
    return ids


@pytest.mark.parametrize("limit", [None, 2, 3])
def test_search_pages_end_and_every_item_is_found(jobs, limit):
    d = jobs.driver
    for workflow_id in some_workflows(d, limit=limit):
        d.workflow(workflow_id)
    d.workflow(jobs.unknown_id(), note="unknown workflow id")


def test_search_with_a_query(jobs):
    d = jobs.driver
    ids = some_workflows(d, limit=2)
    name = body_of(d.workflow(ids[0]), 200).get("name")
    word = name.split()[0] if isinstance(name, str) and name.split() else "report"
    for workflow_id in d.search_all(word, 2):
        d.workflow(workflow_id)


def test_like_toggles_back(jobs):
    d = jobs.driver
    workflow_id = some_workflows(d)[0]
    d.workflow(workflow_id)
    d.like_twice(workflow_id)


def test_patch_with_current_and_stale_version(jobs):
    d = jobs.driver
    workflow_id = some_workflows(d)[-1]
    d.patch_current_and_stale(workflow_id, {"description": "Reviewed by the contract suite",
                                            "tags": ["reviewed"]})
    d.patch_current_and_stale(workflow_id, {"name": "Contract suite workflow"})
