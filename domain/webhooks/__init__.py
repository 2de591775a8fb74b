"""Webhooks: a tenant's subscriptions to events, the events recorded, their signed deliveries and retries."""
