"""Direct debit: the customer gives an IBAN and accepts a SEPA mandate; budget billing with its schedule."""
