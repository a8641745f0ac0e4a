"""Charge point simulator (OCPP 1.6J and 2.0.1)."""
