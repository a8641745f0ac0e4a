"""SLA engine: availability, uptime, incidents, reports."""
