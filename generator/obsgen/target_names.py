"""The rule targets' names and values, apart from settings so the command line can offer them without loading the
model (`obsgen --version` and `--help` stay lean)."""

from __future__ import annotations

TARGETS = ("prometheus-operator", "cortex", "mimir", "thanos")
PARTIAL_RESPONSE_STRATEGIES = ("warn", "abort")  # Thanos' values (it reads them case-insensitively)
ALL_SERVICES = "*"
