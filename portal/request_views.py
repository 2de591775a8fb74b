"""Complaints and requests: open, follow, exchange messages, attachments, move in and out."""
