"""Complaints and service requests, their messages and SLAs."""
