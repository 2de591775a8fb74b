"""Paying by card (provider checkout, webhook, sandbox), direct debit mandates and budget billing."""
