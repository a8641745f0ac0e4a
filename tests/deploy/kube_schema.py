"""Offline validation against the Kubernetes API schemas shipped with kubernetes-validate.

kubernetes_validate.validate() reads the large definitions file on every call; this builds one
validator per kind and reuses it, with the same schema files and the same strict mode.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

# A recent Kubernetes release the installed kubernetes-validate has offline schemas for.
KUBERNETES_VERSION = "1.35.0"
# Custom resources of the Prometheus Operator: no API schema exists offline; tests check their shape.
CUSTOM_KINDS = frozenset(
    {("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule")}
)


@functools.cache
def _validator(api_version: str, kind: str) -> Any:
    version = KUBERNETES_VERSION.rsplit(".", 1)[0]
    assert version in {kv.major_minor(v) for v in kv.all_versions()}, f"no schemas for Kubernetes {version}"
    schema_dir = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = kv.schema_contents(f"{schema_dir}/{kind.lower()}-{group_version}.json", KUBERNETES_VERSION)
    definitions = kv.schema_contents(f"{schema_dir}/_definitions.json", KUBERNETES_VERSION)
    registry: Registry[Any] = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate(manifest: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when the object does not match its Kubernetes API schema."""
    _validator(manifest["apiVersion"], manifest["kind"]).validate(manifest)


def is_custom(manifest: dict[str, Any]) -> bool:
    return (manifest["apiVersion"], manifest["kind"]) in CUSTOM_KINDS


__all__ = ["KUBERNETES_VERSION", "is_custom", "kubernetes_validate", "validate"]
