"""The integration API (`/api/v1`): a utility's other systems read and write through API keys."""
