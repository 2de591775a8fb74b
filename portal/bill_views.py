"""Bills: list, detail with lines and payment status, PDF."""
