"""Reads of the delivery app, by area."""
