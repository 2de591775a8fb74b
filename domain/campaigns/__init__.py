"""Mailing campaigns: segments of customers, templates per locale, recipients recorded once, batched sending on the
`mail` queue, and one-click unsubscribe (issue 14, sections 3 and 4)."""
