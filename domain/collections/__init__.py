"""Collections: dunning, payment arrangements, disputes, write-offs, payments received outside the portal, refunds
and bank statements."""
