"""SS-AUTH-1: every /v1/* endpoint refuses a missing or wrong key, and does nothing;
SS-AUTH-2: the document's "verify the key" accepts a valid one."""

import uuid

import pytest

pytestmark = pytest.mark.api("specstep")

SOME_ID = str(uuid.UUID(int=1))
CALLS = [
    ("GET", "/v1/me", None),
    ("POST", "/v1/interviews", None),
    ("GET", "/v1/interviews/{interview}", None),
    ("POST", "/v1/interviews/{interview}/turns", {"message": "hi"}),
    ("GET", f"/v1/interviews/turns/{SOME_ID}", None),
    ("POST", "/v1/interviews/{interview}/complete", None),
    ("POST", "/v1/generations", {"intake_id": SOME_ID, "review_profile": "Fast"}),
    ("GET", f"/v1/generations/{SOME_ID}", None),
    ("GET", f"/v1/generations/{SOME_ID}/clarifications", None),
    ("POST", f"/v1/generations/{SOME_ID}/clarifications/answers", {"answers": []}),
    ("GET", f"/v1/packages/{SOME_ID}/zip", None),
]


@pytest.mark.parametrize("credential", ["missing", "invalid"])
@pytest.mark.parametrize(("method", "path", "body"), CALLS,
                         ids=[f"{m} {p}" for m, p, _ in CALLS])
def test_keyless_requests_are_refused(specstep, credential, method, path, body):
    d = specstep.driver
    interview_id = d.create_interview()
    d.get_interview(interview_id)
    kwargs = {} if body is None else {"json": body}
    specstep.client.request(method, path.format(interview=interview_id),
                            credential=credential, note=f"{credential} key", **kwargs)
    d.get_interview(interview_id)


def test_valid_key_is_verified(specstep):
    """The sample's first call: `GET /v1/me` with the run's key."""
    specstep.client.request("GET", "/v1/me", note="verify the key")
