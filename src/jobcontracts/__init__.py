"""jobcontracts: contract tests for asynchronous job HTTP APIs."""

__version__ = "0.1.0"
