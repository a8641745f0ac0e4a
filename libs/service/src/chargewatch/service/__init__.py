"""Service runtime: lifecycle, readiness, graceful drain."""
