"""The one object pytest registers: every hook and fixture of the suite."""

from .configure import pytest_collection_finish, pytest_configure
from .runs import interrogation, jobs, pos, pytest_pyfunc_call, specstep
from .summary import (
    pytest_collection_modifyitems,
    pytest_ignore_collect,
    pytest_report_header,
    pytest_sessionfinish,
    pytest_terminal_summary,
)

__all__ = [
    "interrogation", "jobs", "pos", "pytest_collection_finish", "pytest_collection_modifyitems",
    "pytest_configure", "pytest_ignore_collect", "pytest_pyfunc_call", "pytest_report_header",
    "pytest_sessionfinish", "pytest_terminal_summary", "specstep",
]
