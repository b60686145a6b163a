"""Drivers: what traffic to make, per API; they assert nothing."""
