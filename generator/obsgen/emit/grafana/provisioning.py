"""Grafana provisioning: datasources wired to each other (metrics -> traces -> logs) and a dashboard provider."""

from __future__ import annotations

from obsgen.yamltext import dump, generated_header

ROOT = "compose/grafana/provisioning"
DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards"  # where compose mounts the generated dashboards/ tree
TRACE_ID = r"(?:trace_id|traceID|traceId)[\"=: ]+\"?([0-9a-fA-F]{16,32})"


def datasources() -> dict[str, object]:
    """Prometheus, Loki, Jaeger and Alertmanager with fixed UIDs, which the dashboards' variables default to."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus", "type": "prometheus", "uid": "prometheus", "access": "proxy",
                "url": "http://prometheus:9090", "isDefault": True, "editable": False,
                "jsonData": {
                    "httpMethod": "POST",
                    "timeInterval": "15s",
                    # Exemplars carry the trace id; this turns each into a link that opens the trace in Jaeger.
                    "exemplarTraceIdDestinations": [
                        {"name": "trace_id", "datasourceUid": "jaeger", "urlDisplayLabel": "Open trace in Jaeger"},
                    ],
                },
            },
            {
                "name": "Loki", "type": "loki", "uid": "loki", "access": "proxy", "url": "http://loki:3100", "editable": False,
                "jsonData": {
                    "maxLines": 1000,
                    # A trace id in a log line becomes a link to the trace in Jaeger.
                    "derivedFields": [
                        # OTLP logs keep the trace id as structured metadata; plain-text logs carry it in the line.
                        {"name": "trace_id", "matcherType": "label", "matcherRegex": "trace_id", "datasourceUid": "jaeger",
                         "url": "$${__value.raw}", "urlDisplayLabel": "Open trace in Jaeger"},
                        {"name": "TraceID", "matcherType": "regex", "matcherRegex": TRACE_ID, "datasourceUid": "jaeger",
                         "url": "$${__value.raw}", "urlDisplayLabel": "Open trace in Jaeger"},
                    ],
                },
            },
            {
                "name": "Jaeger", "type": "jaeger", "uid": "jaeger", "access": "proxy", "url": "http://jaeger:16686",
                "editable": False,
                "jsonData": {
                    # From a span to the log lines of the same trace in Loki.
                    "tracesToLogsV2": {
                        "datasourceUid": "loki", "filterByTraceID": True, "filterBySpanID": False,
                        "spanStartTimeShift": "-5m", "spanEndTimeShift": "5m",
                        "tags": [{"key": "service.name", "value": "service_name"}],
                    },
                },
            },
            {
                "name": "Alertmanager", "type": "alertmanager", "uid": "alertmanager", "access": "proxy",
                "url": "http://alertmanager:9093", "editable": False,
                "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
            },
        ],
    }


def dashboard_provider() -> dict[str, object]:
    """One file provider; folders follow the directory tree (dashboards/<service>/ -> folder <service>)."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "obsgen", "orgId": 1, "type": "file", "disableDeletion": False, "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": DASHBOARDS_MOUNT, "foldersFromFilesStructure": True},
            },
        ],
    }


def emit(command: str) -> dict[str, str]:
    """The provisioning files, keyed by path; headers name the command that regenerates them."""
    header = generated_header("obsgen (Grafana provisioning for the generated stack)", command)
    return {
        f"{ROOT}/datasources/obsgen.yaml": dump(datasources(), header),
        f"{ROOT}/dashboards/obsgen.yaml": dump(dashboard_provider(), header),
    }
