"""Validation of Keycloak-issued access tokens (JWKS cache, roles, tenant)."""
