"""Online payments: card checkouts through a provider, its webhook events, SEPA direct-debit mandates."""
