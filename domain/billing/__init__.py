"""Billing engine, bills and lines, numbering, billing runs and bill documents."""
