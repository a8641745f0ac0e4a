"""Development identity provider serving the Keycloak endpoints ChargeWatch uses."""
