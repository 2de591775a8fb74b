"""Premises, points of delivery, meters and their registers."""
