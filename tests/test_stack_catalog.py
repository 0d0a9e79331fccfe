"""The catalog's optional service.routing section: parsed into the model, checked, and used by Alertmanager."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_stack_helpers import ROUTED_CATALOG, routed_bundle

from obsgen.catalog import load_bundle
from obsgen.errors import CatalogError
from obsgen.model import RoutingTier


def test_routing_is_read_into_the_model(tmp_path: Path) -> None:
    svc = next(s for s in routed_bundle(tmp_path).services if s.name == "ap-intake-test")
    assert svc.routing == (
        RoutingTier("critical", ("pagerduty", "slack"), repeat_interval="1h"),
        RoutingTier("warning", ("slack", "msteams")),
        RoutingTier("info", ("email",), repeat_interval="12h"),
    )
    divan = next(s for s in routed_bundle(tmp_path / "again").services if s.name == "divan-api")
    assert divan.routing == ()  # optional: without it the team defaults apply


def _load(tmp_path: Path, text: str) -> None:
    catalogs = tmp_path / "catalogs"
    catalogs.mkdir()
    (catalogs / "ap.yaml").write_text(text, encoding="utf-8")
    load_bundle(catalogs, "prod")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("receivers: [email]", "receivers: [sms]", "'sms' is not one of"),
        ("{severity: info,", "{severity: critical,", "duplicate routing severity"),
        ("receivers: [email], repeat_interval: 12h", "receivers: [email], repeat_interval: twelve", "does not match"),
        ("receivers: [email], repeat_interval: 12h", "receivers: [], repeat_interval: 12h", "should be non-empty"),
        ("{severity: info,", "{severity: page,", "'page' is not one of"),
    ],
)
def test_bad_routing_is_refused_with_a_location(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in ROUTED_CATALOG
    with pytest.raises(CatalogError) as err:
        _load(tmp_path, ROUTED_CATALOG.replace(old, new))
    problems = [str(p) for p in err.value.problems]
    assert any(message in p and "service.routing[" in p and "ap.yaml:" in p for p in problems), problems
