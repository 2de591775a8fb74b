"""Back-office search over customer accounts (one box: names in any order, identifiers, contacts, places)."""
