"""YAML merge keys (<<): obsgen resolves them itself, so the size guard holds whatever PyYAML's flattening does.

PyYAML 6.0.4 changed SafeConstructor.flatten_mapping to drop duplicate merged keys; a guard that counted
entries after PyYAML's flattening stopped firing. These tests feed the loader directly under the 6.0.3
behaviour, the 6.0.4 behaviour and a flattening that fails outright, and expect the same answers each time.
"""

from __future__ import annotations

import pytest
import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, SequenceNode

from obsgen.catalog.load import MAX_VALUES, load_yaml_text
from obsgen.errors import CatalogError

MERGE = "tag:yaml.org,2002:merge"


def _flatten_6_0_3(self: SafeConstructor, node: MappingNode) -> None:
    """PyYAML 6.0.3's flatten_mapping: every merged entry is kept, so nested merges multiply."""
    merge: list = []
    index = 0
    while index < len(node.value):
        key_node, value_node = node.value[index]
        if key_node.tag == MERGE:
            del node.value[index]
            if isinstance(value_node, MappingNode):
                self.flatten_mapping(value_node)
                merge.extend(value_node.value)
            elif isinstance(value_node, SequenceNode):
                submerge = []
                for subnode in value_node.value:
                    if not isinstance(subnode, MappingNode):
                        raise ConstructorError("while constructing a mapping", node.start_mark,
                                               f"expected a mapping for merging, but found {subnode.id}", subnode.start_mark)
                    self.flatten_mapping(subnode)
                    submerge.append(subnode.value)
                for value in reversed(submerge):
                    merge.extend(value)
            else:
                raise ConstructorError("while constructing a mapping", node.start_mark,
                                       f"expected a mapping or list of mappings for merging, but found {value_node.id}",
                                       value_node.start_mark)
        else:
            index += 1
    if merge:
        node.value = merge + node.value


def _flatten_6_0_4(self: SafeConstructor, node: MappingNode) -> None:
    """PyYAML 6.0.4's flatten_mapping: a merged key already seen is dropped."""
    merge: list = []
    seen: set[int] = set()
    index = 0
    while index < len(node.value):
        key_node, value_node = node.value[index]
        if key_node.tag == MERGE:
            del node.value[index]
            subs = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for sub in subs:
                self.flatten_mapping(sub)
                for pair in sub.value:
                    if id(pair[0].value) not in seen:
                        seen.add(id(pair[0].value))
                        merge.append(pair)
        else:
            index += 1
    if merge:
        node.value = merge + node.value


def _flatten_refused(self: SafeConstructor, node: MappingNode) -> None:
    raise AssertionError("the loader must not depend on PyYAML's flatten_mapping")


BEHAVIOURS = {"6.0.3": _flatten_6_0_3, "6.0.4": _flatten_6_0_4, "none": _flatten_refused}

EXPLOSION = "root: 1\n" + "x-m0: &m0 {a: 1}\n" + "".join(
    f"x-m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}, *m{i - 1}, *m{i - 1}]}}\n" for i in range(1, 12)
)

PRECEDENCE = """\
a: &a {x: 1, y: 1}
b: &b {x: 2, z: 2}
c:
  <<: [*a, *b]
  y: 3
d:
  <<: *b
  z: 4
"""


@pytest.fixture(params=sorted(BEHAVIOURS))
def pyyaml_flattening(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(SafeConstructor, "flatten_mapping", BEHAVIOURS[request.param])
    return request.param


def test_merge_explosion_is_refused_whatever_pyyaml_flattening_does(pyyaml_flattening: str) -> None:
    with pytest.raises(CatalogError) as caught:
        load_yaml_text(EXPLOSION, "c.yaml")
    # x-m9 (line 11) is the first to exceed the bound: 4**9 = 262,144 entries once expanded.
    assert [str(p) for p in caught.value.problems] == [f"c.yaml:11: merge keys (<<) expand to more than {MAX_VALUES} values"]


def test_merge_precedence_is_yaml_s_whatever_pyyaml_flattening_does(pyyaml_flattening: str) -> None:
    raw = load_yaml_text(PRECEDENCE, "c.yaml")
    assert raw.data["c"] == {"x": 1, "y": 3, "z": 2}  # the first merged mapping wins; own keys override
    assert raw.data["d"] == {"x": 2, "z": 4}
    assert raw.line_of(("c", "y")) == 5


def test_merge_precedence_agrees_with_the_installed_pyyaml() -> None:
    assert load_yaml_text(PRECEDENCE, "c.yaml").data == yaml.safe_load(PRECEDENCE)


def test_merge_below_the_bound_still_loads(pyyaml_flattening: str) -> None:
    text = "root: 1\nx-m0: &m0 {a: 1}\n" + "".join(f"x-m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}\n" for i in range(1, 8))
    assert load_yaml_text(text, "c.yaml").data["x-m7"] == {"a": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("s: &s 1\nm:\n  <<: *s\n", "c.yaml:1: invalid YAML: expected a mapping or list of mappings for merging, but found scalar"),
        ("s: &s 1\nm:\n  <<: [*s]\n", "c.yaml:1: invalid YAML: expected a mapping for merging, but found scalar"),
        ("m: &m\n  a: 1\n  <<: *m\n", "c.yaml:1: invalid YAML: a merge key refers to its own mapping"),
    ],
)
def test_bad_merges_are_one_located_line(pyyaml_flattening: str, text: str, message: str) -> None:
    with pytest.raises(CatalogError) as caught:
        load_yaml_text(text, "c.yaml")
    assert [str(p) for p in caught.value.problems] == [message]
