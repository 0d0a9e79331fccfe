"""`obsgen simulate`: a demo service that exposes a catalog's metrics and obeys injected faults.

series.py decides which series exist and how they behave, exporter.py keeps them in prometheus_client
registries, faults.py parses the control endpoint's requests, server.py serves HTTP, telemetry.py logs and traces,
triggers.py maps each alert to the fault that fires it (tests/support/localstack.py runs Prometheus and
Alertmanager around the demo service, for the tests and benches).
"""

from __future__ import annotations

from typing import Any

from obsgen.simulate.faults import FaultError, Faults

__all__ = ["DemoServer", "FaultError", "Faults", "Simulator"]


def __getattr__(name: str) -> Any:
    # The server needs prometheus-client (the `demo` extra); triggers and faults must import without it.
    if name in ("DemoServer", "Simulator"):
        from obsgen.simulate import server

        return getattr(server, name)
    raise AttributeError(name)
