"""Any generate or respond body: only the generic rules judge the answers (no
5xx, every answer as the OpenAPI schema says), and the jobs it creates are
judged by every projection rule. No status is asserted for a body the
documents do not rule on."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

pytestmark = pytest.mark.api("pos")

#: Any Unicode text (no lone surrogates: JSON cannot carry them as text).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
NOT_TEXT = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                     st.lists(st.integers(), max_size=3), st.dictionaries(TEXT, st.integers(),
                                                                          max_size=2))
NOT_AN_OBJECT = st.one_of(st.lists(TEXT, max_size=2), TEXT, st.integers(), st.none())


def generate_bodies():
    """Both fields as text, one missing, or one of another type."""
    field = st.one_of(TEXT, NOT_TEXT)
    return st.one_of(
        st.fixed_dictionaries({"provider": TEXT, "topic": TEXT}),
        st.fixed_dictionaries({}, optional={"provider": field, "topic": field}),
        st.fixed_dictionaries({"provider": field, "topic": field}),
        NOT_AN_OBJECT,
    )


def respond_bodies():
    return st.one_of(
        st.fixed_dictionaries({"humanResponse": TEXT}),
        st.fixed_dictionaries({}, optional={"humanResponse": NOT_TEXT}),
        NOT_AN_OBJECT,
    )


@given(body=generate_bodies())
@example(body={"provider": "", "topic": ""})
@example(body={"provider": "Square", "topic": "Emoji \U0001f389 RTL \u202e NUL \x00"})
@example(body={"provider": "Square"})
@example(body={"provider": "Square", "topic": 7})
@example(body=[])
def test_any_generate_body_is_answered_cleanly(pos, body):
    """Live, each example spends the paid budget (any of them might create a
    job), leaving one job for `test_full_job`."""
    with pos.example() as run:
        d = run.driver
        created = d.generate(body, keep=1 if run.live else 0)
        job_id = created.json.get("jobId") if isinstance(created.json, dict) else None
        if created.status == 202 and isinstance(job_id, int | str):
            d.job(str(job_id))


@given(body=respond_bodies())
@example(body={"humanResponse": ""})
@example(body={"humanResponse": "Emoji \U0001f389 and zero width \u200b and NUL \x00"})
@example(body={})
@example(body={"humanResponse": None})
@example(body="v2")
def test_any_answer_to_a_question_is_handled_cleanly(pos, body):
    """Sent to a job waiting for an answer (or, if a live job never asks, to
    whatever it became: then POS-RESP-1 judges a well-formed answer too)."""
    with pos.example() as run:
        d = run.driver
        job_id = d.create_job("Square", "refunds clarify", keep=1 if run.live else 0)
        d.watch(job_id)
        d.respond(job_id, body=body, note="any answer body")
        d.job(job_id)
