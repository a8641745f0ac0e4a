"""Security monitor: detection rules, anomalies, alerts, response."""
