import json

from chargewatch.rpc import retry_service_config


def test_only_declared_idempotent_methods_are_retried() -> None:
    config = json.loads(retry_service_config(["chargewatch.v1.Authz/Authorize", "chargewatch.v1.Telemetry"]))
    (method_config,) = config["methodConfig"]
    assert method_config["name"] == [
        {"service": "chargewatch.v1.Authz", "method": "Authorize"},
        {"service": "chargewatch.v1.Telemetry"},
    ]
    policy = method_config["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]
    assert policy["maxAttempts"] >= 2


def test_no_idempotent_methods_means_no_retry_policy() -> None:
    assert json.loads(retry_service_config([])) == {"methodConfig": []}
