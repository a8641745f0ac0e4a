"""Helpers shared by test tiers (plain functions; each directory's conftest wraps them in fixtures)."""
