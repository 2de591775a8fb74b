"""Trace and history of changes to every business object."""
