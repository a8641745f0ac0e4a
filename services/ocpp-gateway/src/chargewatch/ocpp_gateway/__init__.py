"""OCPP gateway: charge point sessions, validation, station authentication, command routing."""
