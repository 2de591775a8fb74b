"""Demo data: two seeded utilities for the embedded default and for trying the product."""
