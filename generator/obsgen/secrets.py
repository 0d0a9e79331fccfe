"""Spot secrets written inline: in catalogs (refused at build time) and in generated files (a test scans them).

obsgen only ever writes references to secrets (a *_file path, an env variable name, `${VAR:?}`); a literal
credential anywhere in its input or output is a defect, so both checks share the patterns below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Literal credentials, recognisable by their shape whatever key holds them.
VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a URL with a password in it", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)),
    ("a bearer token", re.compile(r"\bBearer[ \t]+[A-Za-z0-9._~+/-]{16,}=*")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Slack webhook URL", re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/]+")),
    ("an AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("a Stripe-style secret key", re.compile(r"\bsk_(live|test)_[A-Za-z0-9]{10,}")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a URL query credential", re.compile(r"[?&](access_token|api_key|apikey|token|password|secret|key)=[^&\s\"']+", re.I)),
    ("a default admin password", re.compile(r"(ADMIN_PASSWORD|admin_password)\s*[:=]\s*[\"']?(admin|password|changeme|secret)\b")),
)

# Keys whose value is the secret itself (as opposed to *_file / *_env references to it).
SECRET_KEY = re.compile(
    r"^(.*[_.-])?(password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|routing[_-]?key|service[_-]?key"
    r"|authorization|private[_-]?key|credentials|webhook[_-]?url|api[_-]?url)$",
    re.I,
)
# Values of a secret-looking key that are references, not secrets.
REFERENCE = re.compile(r"^(\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}|\$[A-Za-z_][A-Za-z0-9_]*|/[^\s]*|<[^>]*>|)$")


# Any of VALUE_PATTERNS, as one search: an alternation matches somewhere exactly when one of its branches does, so
# the common clean string costs one call instead of eleven.
_SCOPED_FLAGS = ((re.I, "i"), (re.M, "m"), (re.S, "s"), (re.X, "x"))
_ANY_VALUE = re.compile("|".join(
    f"(?{''.join(letter for flag, letter in _SCOPED_FLAGS if p.flags & flag)}:{p.pattern})" for _, p in VALUE_PATTERNS
))


def value_findings(text: str) -> list[str]:
    """Which literal-credential shapes occur in a string."""
    if not _ANY_VALUE.search(text):
        return []
    return [what for what, pattern in VALUE_PATTERNS if pattern.search(text)]


def data_findings(data: Any, path: tuple[str | int, ...] = (), skip: frozenset[str] = frozenset()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, message) for every inline secret in nested data; keys in `skip` hold references by design."""
    if isinstance(data, dict):
        for key, value in data.items():
            sub = (*path, key)
            if str(key) in skip:
                continue
            if isinstance(value, str) and SECRET_KEY.match(str(key)) and not REFERENCE.match(value.strip()):
                yield sub, f"'{key}' holds a literal secret; reference it instead (a *_file path or an environment variable)"
            else:
                yield from data_findings(value, sub, skip)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from data_findings(item, (*path, i), skip)
    elif isinstance(data, str):
        for what in value_findings(data):
            yield path, f"looks like {what}; never put a secret in a catalog, reference a file or an environment variable"


# In generated files: a secret-looking YAML/env key with a literal value.
_TEXT_ASSIGNMENT = re.compile(r"^[ \t]*-?[ \t]*[\"']?([A-Za-z0-9_.-]+)[\"']?[ \t]*[:=][ \t]*[\"']?([^\"'#\n]*)", re.M)


def text_findings(text: str) -> list[str]:
    """Secret-looking content in a generated file's text: literal credentials or key: literal-value pairs."""
    found = [f"{what}" for what in value_findings(text)]
    for match in _TEXT_ASSIGNMENT.finditer(text):
        key, value = match.group(1), match.group(2).strip()
        if SECRET_KEY.match(key) and not REFERENCE.match(value):
            found.append(f"{key} has a literal value")
    if re.search(r"\badmin\s*/\s*admin\b", text):
        found.append("default credentials admin/admin")
    return found
