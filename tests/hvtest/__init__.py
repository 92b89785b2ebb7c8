"""Shared helpers for hallvote's test suite (tools lookup, real-part fixtures)."""
