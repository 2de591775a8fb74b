"""The customer file's contact log: calls, letters and visits staff record, shown with the e-mails sent."""
