"""Convert jobs from creation to the end: JOB-CONV-1 on every poll, the
presigned result files (JOB-CONV-3), and the refusals of JOB-CONV-2.

Each fate is reached through the contract's test-mode filename words
(`convert_filename_words`): none completes, `fail` fails while processing,
`corrupt` fails straight from queued. Live, each is one paid job."""

import pytest

pytestmark = pytest.mark.api("jobs")


@pytest.mark.parametrize("fate", [None, "fail", "corrupt"])
def test_convert_lifecycle(jobs, fate):
    jobs.driver.convert(fate)


@pytest.mark.parametrize("processor", [1, 2])
def test_other_processors(jobs, processor):
    """Each further default processor once: simulator only (paid, and no rule needs it)."""
    jobs.require_simulator("each processor is one more paid job")
    d = jobs.driver
    if processor < len(d.processors):
        d.convert(processor=d.processors[processor])


def test_refused_creates_make_no_job(jobs):
    d = jobs.driver
    file_id = d.file_id()
    processor = d.processors[0]
    d.create_convert([jobs.unknown_id()], processor, paid=False, note="unknown file id")
    d.create_convert([], processor, paid=False, note="empty file_ids")
    d.create_convert([file_id], paid=False, note="no processor_type")
    d.create_convert([file_id], "no_such_processor", paid=False, note="unknown processor_type")
    d.get_convert(jobs.unknown_id(), note="unknown job id")
