"""gRPC server and client helpers: health, reflection, OpenTelemetry, deadlines, retries."""
