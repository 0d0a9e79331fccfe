"""Click parameter types for values a user types by hand, so a slip is a usage error (exit 2) naming the flag.

Without them, `--listen foo` or `--grafana-url ftp://x` surfaced later as an internal error with exit 70.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any
from urllib.parse import urlsplit

import click

_HOSTNAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")
_PORT = re.compile(r"[0-9]{1,5}")
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


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


class HttpUrl(click.ParamType):
    """An http(s) base URL with a host, a valid port and no credentials (tokens go elsewhere, never in argv)."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not _VISIBLE_ASCII.fullmatch(text):
            self.fail(f"{text!r} has spaces or characters a URL cannot carry", param, ctx)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(f"must be http(s)://host[:port][/path], not {text!r}", param, ctx)
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when it is read
        except ValueError:
            self.fail(f"{text!r}: the port must be a number from 1 to 65535", param, ctx)
        if parts.username is not None or parts.password is not None:
            self.fail("put credentials in GRAFANA_TOKEN or --token-file, not in the URL", param, ctx)
        if parts.query or parts.fragment:
            self.fail(f"{text!r}: a base URL has no query or fragment", param, ctx)
        return text


class Seconds(click.ParamType):
    """A finite, positive number of seconds up to a bound (click's FloatRange lets NaN through)."""

    name = "SECONDS"

    def __init__(self, maximum: float = 3600.0) -> None:
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or not 0 < seconds <= self.maximum:
            self.fail(f"{value!r} must be more than 0 and at most {self.maximum:g} seconds", param, ctx)
        return seconds


def http_token(raw: bytes, source: str) -> str:
    """A bearer token as an HTTP header can carry it; a usage error naming its source otherwise."""
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise click.UsageError(f"{source}: the token is not UTF-8 text") from None
    if token and not _VISIBLE_ASCII.fullmatch(token):
        raise click.UsageError(f"{source}: the token has spaces or characters an HTTP header cannot carry")
    return token
