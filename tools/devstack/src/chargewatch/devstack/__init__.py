"""The whole platform on one machine: embedded Redis, MongoDB-wire store, identity provider, services, fleet."""
