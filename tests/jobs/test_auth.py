"""JOB-AUTH-1: a missing or wrong key gets 401 on every /v1 path, the event
WebSocket's upgrade included, and does nothing (a keyless like toggles
nothing); a presigned download needs no key (JOB-CONV-3 judges that).
The ids are real where the test can have them for free, else unknown ones:
a server must refuse the credential before it looks anything up."""

import pytest

pytestmark = pytest.mark.api("jobs")

CREDENTIALS = ["missing", "invalid"]


def calls(d, ids):
    """Every endpoint of the contract, one call each."""
    f, g, c, w = ids["file"], ids["goal"], ids["convert"], ids["workflow"]
    return {
        "upload_file": lambda cred: d.upload(credential=cred),
        "get_file": lambda cred: d.get_file(f, credential=cred),
        "create_convert": lambda cred: d.create_convert([f], d.processors[0], paid=False,
                                                        credential=cred),
        "get_convert": lambda cred: d.get_convert(c, credential=cred),
        "create_goal": lambda cred: d.create_goal(d.goal_text(), [f], paid=False,
                                                  credential=cred),
        "get_goal": lambda cred: d.get_goal(g, credential=cred),
        "confirm_goal": lambda cred: d.confirm(g, credential=cred),
        "cancel_goal": lambda cred: d.cancel(g, credential=cred),
        "fill_slot": lambda cred: d.fill(g, "output_format", "pdf", credential=cred),
        "goal_events": lambda cred: d.events(g, stop_after=1, deadline=5, credential=cred),
        "search_workflows": lambda cred: d.search(credential=cred),
        "get_workflow": lambda cred: d.workflow(w, credential=cred),
        "like_workflow": lambda cred: d.like(w, credential=cred),
        "patch_workflow": lambda cred: d.patch(w, {"item_version": 1, "name": "x"},
                                               credential=cred),
        "get_plan": lambda cred: d.plan(credential=cred),
        "get_quota": lambda cred: d.quota(d.quota_tools[:1], 1, credential=cred),
    }


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_every_path_refuses_a_bad_key(jobs, credential):
    d = jobs.driver
    workflow_id = d.search_all(limit=5)[0]
    ids = {"file": d.file_id(), "goal": jobs.unknown_id(), "convert": jobs.unknown_id(),
           "workflow": workflow_id}
    for name, call in calls(d, ids).items():
        if name == "like_workflow":
            d.workflow(workflow_id)
        call(credential)
        if name == "like_workflow":
            d.workflow(workflow_id)
