"""Helpers the test suites share: real services, waiting on conditions, child processes."""
