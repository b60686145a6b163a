"""Recorded traffic: cassettes and HAR written scrubbed, read back, replayed, verified."""
