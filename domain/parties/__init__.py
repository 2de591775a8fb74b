"""Stakeholders: persons and organisations, their contact points and roles."""
