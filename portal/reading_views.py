"""Meter self-reading per meter and register, and the reading history."""
