"""Property tests: random mutations of a good catalog never crash the loader, nor the generator.

Whatever the input, `load_bundle` either returns a Bundle or raises CatalogError whose problems each name a
file and carry a one-line message. Any other exception is a bug (the CLI would print an internal error), and
so is a catalog that validates but does not generate (exit 70). `make fuzz` (OBSGEN_FUZZ=1) runs many more.
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsgen.catalog.build import load_bundle
from obsgen.cli import main, one_line
from obsgen.errors import CatalogError
from obsgen.model import Bundle

ROOT = Path(__file__).resolve().parents[1]
GOOD_TEXT = (ROOT / "catalogs" / "divan-api.yaml").read_text(encoding="utf-8")
GOOD = yaml.safe_load(GOOD_TEXT)
FUZZ = os.environ.get("OBSGEN_FUZZ", "") not in ("", "0")  # `make fuzz`: many more examples
SETTINGS = settings(max_examples=1000 if FUZZ else 150, deadline=None, suppress_health_check=list(HealthCheck))
EVERY_TEMPLATE = yaml.safe_load((ROOT / "tests" / "fixtures" / "catalogs" / "shop.yaml").read_text(encoding="utf-8"))

# Values that reach deeper checks than random text: names, durations, PromQL, templates from the same domain.
INTERESTING = st.sampled_from([
    "divan_http_requests_total", "divan_socketio_clients", "divan_http_request_duration_seconds",
    "divan_http_request_duration_seconds_bucket", "divan_redis_latency_seconds", "up", "ALERTS",
    "5m", "0s", "0m", "1h30m", "1ms", "99999999999y", "5 m", "-5m", "",
    "rate(divan_http_requests_total[5m]) > 1", "sum by (route) (divan_socketio_clients)", "foo:bar:rate5m > 1",
    "histogram_quantile(0.9, rate(divan_http_request_duration_seconds_bucket[5m]))", "vector(1)", "{",
    'status=~"5.."', 'route="/x"', "x=", "{{ $value | humanize }}", "{{ $labels.job }}", "{{", "}}",
    "counter", "gauge", "histogram", "summary", "expr", "threshold", "error_ratio", "latency_quantile",
    "drop_percentage", "increase", "down", "absent", "availability", "latency", "critical", "ramping-vus",
    "constant-arrival-rate", "route", "job", "le", "user_id", "\n", "a\nb", "\x00", "\u202e", "é",
])
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-2, max_value=2)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20) | INTERESTING
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8) | INTERESTING, inner, max_size=3),
    max_leaves=6,
)
ACTIONS = ("delete", "replace", "duplicate", "rename", "transplant", "empty")


def _nodes(tree: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) in the tree, the root included."""
    out = [(path, tree)]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.extend(_nodes(value, (*path, key)))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            out.extend(_nodes(value, (*path, i)))
    return out


def _parent(tree: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        tree = tree[part]
    return tree


def _mutate(tree: Any, data: st.DataObject) -> Any:
    """One random structural change somewhere in the tree."""
    nodes = _nodes(tree)
    path, node = data.draw(st.sampled_from(nodes), label="node")
    action = data.draw(st.sampled_from(ACTIONS), label="action")
    if not path:
        return data.draw(JSONISH, label="root") if action == "replace" else tree
    parent, key = _parent(tree, path), path[-1]
    if action == "delete":
        del parent[key]
    elif action == "replace":
        parent[key] = data.draw(JSONISH, label="value")
    elif action == "duplicate" and isinstance(node, list) and node:
        node.insert(data.draw(st.integers(0, len(node)), label="at"), copy.deepcopy(data.draw(st.sampled_from(node))))
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(node))
    elif action == "rename" and isinstance(parent, dict):
        new = data.draw(st.text(max_size=12) | INTERESTING | st.just(str(key) + "s") | st.just(str(key).upper()), label="key")
        parent[new] = parent.pop(key)
    elif action == "transplant":
        # A value from elsewhere in the same catalog: realistic shapes in the wrong place.
        parent[key] = copy.deepcopy(data.draw(st.sampled_from(nodes), label="donor")[1])
    elif action == "empty":
        parent[key] = type(node)() if isinstance(node, (dict, list, str)) else 0
    return tree


def _check(directory: Path) -> Bundle | None:
    """Load; pass if a Bundle or a well-formed CatalogError comes back, and let anything else fail the test."""
    try:
        return load_bundle(directory)
    except CatalogError as exc:
        assert exc.problems, "CatalogError without problems"
        for problem in exc.problems:
            assert problem.file, problem
            assert isinstance(problem.message, str) and problem.message.strip(), problem
            assert problem.line is None or problem.line >= 1, problem
            assert len(one_line(str(problem)).splitlines()) == 1, problem
        return None


@SETTINGS
@given(data=st.data(), rounds=st.integers(min_value=1, max_value=4))
def test_structural_mutations_never_crash(data: st.DataObject, rounds: int) -> None:
    tree = copy.deepcopy(GOOD)
    for _ in range(rounds):
        tree = _mutate(tree, data)
    text = yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "divan-api.yaml").write_text(text, encoding="utf-8")
        _check(Path(tmp))


@SETTINGS
@given(data=st.data(), rounds=st.integers(min_value=1, max_value=3))
def test_structural_mutations_as_jsonnet_never_crash(data: st.DataObject, rounds: int) -> None:
    """The same mutations through the Jsonnet path (JSON is valid Jsonnet), which has no line numbers."""
    import json

    tree = copy.deepcopy(GOOD)
    for _ in range(rounds):
        tree = _mutate(tree, data)
    try:
        text = json.dumps(tree, allow_nan=False)
    except ValueError:
        return  # NaN/Infinity have no Jsonnet literal; the YAML test covers them
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "divan-api.jsonnet").write_text(text, encoding="utf-8")
        _check(Path(tmp))


BYTE_OPS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40)),
    st.tuples(st.just("insert"), st.integers(0, 10**6),
              st.sampled_from([b":", b"- ", b"\t", b"{", b"[", b"'", b'"', b"&a ", b"*a", b"<<: ", b"!!python/none ",
                               b"\n  ", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"---\n", b"%YAML 1.1\n", b"? "])),
    st.tuples(st.just("dupline"), st.integers(0, 10**6), st.integers(1, 5)),
)


def _byte_mutate(raw: bytes, op: tuple[Any, ...]) -> bytes:
    kind, where = op[0], op[1] % (len(raw) + 1)
    if kind == "flip":
        return raw[:where] + bytes([op[2]]) + raw[where + 1:]
    if kind == "insert":
        return raw[:where] + op[2] + raw[where:]
    if kind == "delete":
        return raw[:where] + raw[where + op[2]:]
    lines = raw.splitlines(keepends=True)
    i = where % max(len(lines), 1)
    return b"".join(lines[:i] + lines[i:i + op[2]] * 2 + lines[i + op[2]:])


@SETTINGS
@given(ops=st.lists(BYTE_OPS, min_size=1, max_size=6))
def test_byte_mutations_never_crash(ops: list[tuple[Any, ...]]) -> None:
    raw = GOOD_TEXT.encode("utf-8")
    for op in ops:
        raw = _byte_mutate(raw, op)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "divan-api.yaml").write_bytes(raw)
        _check(Path(tmp))


def test_unmutated_catalog_loads() -> None:
    """The starting point is valid, so mutations explore near a good catalog rather than far from it."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "divan-api.yaml").write_text(yaml.safe_dump(GOOD, allow_unicode=True, sort_keys=False), encoding="utf-8")
        assert isinstance(_check(Path(tmp)), Bundle)


@settings(max_examples=1000 if FUZZ else 40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), rounds=st.integers(min_value=1, max_value=3))
def test_whatever_validates_also_generates(data: st.DataObject, rounds: int) -> None:
    """Mutations of the catalog that uses every template, through `obsgen generate`: exit 0 or 1, never 70."""
    tree = copy.deepcopy(EVERY_TEMPLATE)
    for _ in range(rounds):
        tree = _mutate(tree, data)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "catalogs").mkdir()
        (Path(tmp) / "catalogs" / "shop.yaml").write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False), encoding="utf-8")
        result = CliRunner().invoke(main, ["generate", "--catalogs", str(Path(tmp) / "catalogs"), "--out", str(Path(tmp) / "out")])
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
