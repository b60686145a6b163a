"""Embedded simulators of the APIs under test, with named faults."""
