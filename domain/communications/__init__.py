"""Mail templates per locale, transactional mail, campaigns, consent and the outbound transport."""
