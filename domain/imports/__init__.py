"""Import of an existing customer base from CSV and XLSX files (issue 13 §4)."""
