"""API keys of a tenant's other systems: scopes, expiry, revocation, the calls they made, idempotent answers."""
