"""Operators of the SP-API provider."""
