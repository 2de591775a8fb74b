"""The billing engine is pure: its tests need no application and no database.

The suite-wide autouse fixture that empties the database after each test asks for the app (and so migrates a
database once per run); overriding it here with a no-op keeps this folder fast and independent of the app.
"""
import pytest


@pytest.fixture(autouse=True)
def _clean_database():
    yield
