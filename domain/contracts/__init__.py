"""Customer accounts (the billing unit) and contracts."""
