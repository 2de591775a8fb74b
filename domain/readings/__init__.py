"""Meter readings, their validation and estimation."""
