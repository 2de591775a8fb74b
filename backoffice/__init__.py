"""Back office: what a utility's staff and tenant administrators use."""
