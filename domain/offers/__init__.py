"""Offers per activity and their tariff versions."""
