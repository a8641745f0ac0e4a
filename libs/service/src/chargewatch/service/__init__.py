"""The runtime every service's `__main__` wires: ops endpoints, gRPC server, readiness from
dependency probes, background workers, and a graceful drain on SIGTERM."""

from chargewatch.service.memory import tune_garbage_collector
from chargewatch.service.runtime import DependencyProbe, ServiceRuntime, Worker

__all__ = ["DependencyProbe", "ServiceRuntime", "Worker", "tune_garbage_collector"]
