"""Regression diff: what changed between a release and its candidate, with no rule broken.

Diffy's way: two recordings of the same seeded run against the current release
(`A`, `A'`) and one against the candidate (`B`). Each recording is summed up as
*features* (per endpoint and status, per field path: key presence, value
types, the vocabulary of enum-like strings, header magnitudes, stream event
sequences, counts, text lengths, latency). A feature that differs between `A`
and `A'` is noise and is never reported; one that holds still in the baseline
and moves in the candidate is a difference. See `features.py` for what is
summed up, `judge.py` for how two summaries are compared.
"""
