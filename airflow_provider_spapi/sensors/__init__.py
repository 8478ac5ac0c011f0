"""Sensors of the SP-API provider."""
