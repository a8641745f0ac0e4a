"""Telemetry: station registry, live state, meter values, sessions."""
