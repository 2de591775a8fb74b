"""Getting in: activating online access with a customer number and a fact from a bill, e-mail
verification, linking another account to the same login."""
