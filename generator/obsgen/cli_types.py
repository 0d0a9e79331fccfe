"""Click parameter types for values a user types by hand, so a slip is a usage error (exit 2) naming the flag.

Without them, `--listen foo` surfaced later as an internal error with exit 70.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import click

_HOSTNAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")
_PORT = re.compile(r"[0-9]{1,5}")


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.fullmatch(host))
    return True


class ListenAddress(click.ParamType):
    """HOST:PORT to serve on: an IP literal ([::1] for IPv6) or a host name, and a port from 0 to 65535."""

    name = "HOST:PORT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        text = str(value)
        host, sep, port = text.rpartition(":")
        if not sep:
            self.fail(f"{text!r} is not HOST:PORT (for example 127.0.0.1:8000)", param, ctx)
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        elif ":" in host:
            self.fail(f"{text!r}: write an IPv6 address in brackets, for example [::1]:8000", param, ctx)
        if not _PORT.fullmatch(port) or int(port) > 65535:
            self.fail(f"{text!r}: the port must be a number from 0 to 65535, not {port!r}", param, ctx)
        if host and not _valid_host(host):
            self.fail(f"{text!r}: {host!r} is not an IP address or host name", param, ctx)
        return host or "127.0.0.1", int(port)
