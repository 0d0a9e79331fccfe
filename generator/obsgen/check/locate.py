"""Turn what a tool says into a line of a file: a YAML field path, a YAML syntax error, or a quoted name.

Tools name the field (compose: `services.bad`), the value (amtool: `undefined receiver "x"`, k6: a threshold) or
a YAML line that is sometimes off by the document's start (yaml.v2/v3 inside promtool and amtool). These
helpers find the line in the file itself, so every finding that can carry a line does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import yaml

QUOTED = re.compile(r'"((?:[^"\\]|\\.)+)"|\'([^\']+)\'')


def yaml_path_line(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line of a field path in a YAML document (the deepest part of it that exists), or None."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and str(part).isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def yaml_error_line(text: str) -> int | None:
    """Where PyYAML finds a syntax error (1-based), or None when the text parses."""
    try:
        for _ in yaml.compose_all(text, Loader=yaml.SafeLoader):
            pass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        return mark.line + 1 if mark is not None else None
    return None


def token_line(text: str, token: str) -> int | None:
    """The first line (not a comment) that holds the token as a quoted string or a whole value, or None."""
    if not token.strip():
        return None
    forms = (re.compile(re.escape(f'"{token}"')), re.compile(re.escape(f"'{token}'")),
             re.compile(r"(?<![\w.-])" + re.escape(token) + r"(?![\w-])"))
    lines = text.splitlines()
    for form in forms:
        for number, line in enumerate(lines, start=1):
            if not line.lstrip().startswith(("#", "//")) and form.search(line):
                return number
    return None


def token_line_after(text: str, token: str, start: int) -> int | None:
    """The first line at or after `start` (1-based) that holds the token as a whole word, or None."""
    form = re.compile(r"(?<![\w.-])" + re.escape(token) + r"(?![\w-])")
    for number, line in enumerate(text.splitlines()[start - 1:], start=start):
        if form.search(line):
            return number
    return None


def quoted(message: str) -> list[str]:
    """The quoted names in a tool's message, in order (escaped quotes undone)."""
    return [(a or b).replace('\\"', '"') for a, b in QUOTED.findall(message)]


def first_token_line(text: str, message: str) -> int | None:
    """The line of the first quoted name of the message that appears in the text."""
    for token in quoted(message):
        line = token_line(text, token)
        if line is not None:
            return line
    return None


def json_path_line(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line where the value at a path of a JSON document starts (the deepest part found), or None."""
    decoder = _JSONLines(text)
    try:
        return decoder.find(list(path))
    except (ValueError, IndexError):
        return None


class _JSONLines:
    """A small scanner over JSON text that knows where each value starts (json.loads keeps no positions)."""

    WS = " \t\r\n"

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def line(self) -> int:
        return self.text.count("\n", 0, self.i) + 1

    def skip(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in self.WS:
            self.i += 1

    def find(self, path: list[str | int]) -> int | None:
        self.skip()
        line = self.line()
        if not path:
            return line
        head, rest = path[0], path[1:]
        ch = self.text[self.i]
        if ch == "{":
            self.i += 1
            while True:
                self.skip()
                if self.text[self.i] == "}":
                    return line
                key = self.string()
                self.skip()
                self.i += 1  # the colon
                if key == str(head):
                    return self.find(rest) or line
                self.value()
                self.skip()
                if self.text[self.i] == ",":
                    self.i += 1
        if ch == "[" and isinstance(head, int):
            self.i += 1
            for index in range(head + 1):
                self.skip()
                if self.text[self.i] == "]":
                    return line
                if index == head:
                    return self.find(rest) or line
                self.value()
                self.skip()
                if self.text[self.i] == ",":
                    self.i += 1
        return line

    def string(self) -> str:
        start = self.i
        self.i += 1
        while self.text[self.i] != '"':
            self.i += 2 if self.text[self.i] == "\\" else 1
        self.i += 1
        return json.loads(self.text[start:self.i])

    def value(self) -> None:
        self.skip()
        ch = self.text[self.i]
        if ch == '"':
            self.string()
        elif ch in "{[":
            close = "}" if ch == "{" else "]"
            self.i += 1
            while True:
                self.skip()
                if self.text[self.i] == close:
                    self.i += 1
                    return
                if ch == "{":
                    self.string()
                    self.skip()
                    self.i += 1
                self.value()
                self.skip()
                if self.text[self.i] == ",":
                    self.i += 1
        else:
            while self.i < len(self.text) and self.text[self.i] not in ",]}" + self.WS:
                self.i += 1
