"""The stack's settings live in obsgen.settings (an input of the emit stage); re-exported for the stack emitters."""

from __future__ import annotations

from obsgen.settings import OPTIONAL_RECEIVERS, RECEIVER_KINDS, SEVERITIES, Settings, StackSettings

__all__ = ["OPTIONAL_RECEIVERS", "RECEIVER_KINDS", "SEVERITIES", "Settings", "StackSettings"]
