"""Profile: contact details, language, paperless billing, marketing consent, data export, closing the access."""
