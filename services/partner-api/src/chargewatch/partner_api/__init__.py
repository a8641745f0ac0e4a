"""Public partner API and operations dashboard."""
