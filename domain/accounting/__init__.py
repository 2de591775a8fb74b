"""Ledger, payments and their allocation, collections."""
