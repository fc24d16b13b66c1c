"""Test and benchmark helpers (independent reference implementations)."""
