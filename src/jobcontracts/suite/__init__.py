"""The suite's pytest hooks and fixtures, registered by `jobcontracts.plugin`
once pytest configures (so that importing the entry point costs nothing):
`targets` (contracts, targets, budgets), `configure` (seed, profiles,
manifests, xdist), `runs` (the per-API fixtures and judging), `summary` (the
header, `--api` selection, the summary and the report)."""
