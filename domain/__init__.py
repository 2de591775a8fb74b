"""Business areas of the utility platform, one package each (see ARCHITECTURE.md)."""
