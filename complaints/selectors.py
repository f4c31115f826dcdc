"""Reads of the complaints app, by area."""
