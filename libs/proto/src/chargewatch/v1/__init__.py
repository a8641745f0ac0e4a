"""Generated from proto/chargewatch/v1; do not edit."""
