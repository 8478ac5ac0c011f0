"""Hooks of the SP-API provider."""
