"""Triggers of the SP-API provider."""
