"""No secret in any generated file, and catalogs that would inline one are refused with a located error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_stack_helpers import CATALOGS, REPO, ROUTED_CATALOG, repo_bundle, routed_bundle

from obsgen.catalog import load_bundle
from obsgen.emit import emit_all
from obsgen.emit.stack import render
from obsgen.emit.stack.settings import StackSettings
from obsgen.errors import CatalogError
from obsgen.plan import build_plan
from obsgen.secrets import text_findings
from obsgen.settings import Settings

ALL_ON = StackSettings(receivers=frozenset({"slack", "pagerduty", "email", "msteams"}))


def test_no_generated_file_holds_a_secret(tmp_path: Path) -> None:
    files = dict(emit_all(build_plan(repo_bundle()), Settings()))
    files.update({f"all-receivers/{k}": v for k, v in render(build_plan(routed_bundle(tmp_path)), ALL_ON).items()})
    assert any(p.endswith("compose.yaml") for p in files)
    found = {path: text_findings(text) for path, text in files.items()}
    assert {p: f for p, f in found.items() if f} == {}


def test_no_committed_compose_file_holds_a_secret() -> None:
    for path in sorted((REPO / "compose").rglob("*")):
        if path.is_file():
            assert text_findings(path.read_text(encoding="utf-8")) == [], path


@pytest.mark.parametrize(
    "text",
    [
        "GF_SECURITY_ADMIN_PASSWORD=admin\n",
        "environment:\n  GF_SECURITY_ADMIN_PASSWORD: hunter2\n",
        "login with admin/admin\n",
        "smtp_auth_password: s3cret-value\n",
        "  api_url: https://hooks.slack.com/services/T000/B000/XXXXXXXX\n",
        "routing_key: 0123456789abcdef0123456789abcdef\n",
        "headers:\n  Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345\n",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n",
        "url: http://user:pa55word@db.internal:5432/app\n",
        "webhook_url: https://example.invalid/hook?token=abc123\n",
    ],
)
def test_the_scanner_catches_secrets(text: str) -> None:
    assert text_findings(text), text


@pytest.mark.parametrize(
    "text",
    [
        "api_url_file: /etc/alertmanager/secrets/slack-api-url\n",
        "GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD:?set it in compose/.env}\n",
        "credentials_file: /etc/prometheus/secrets/divan-metrics-token\n",
        "GRAFANA_ADMIN_PASSWORD=\n",
    ],
)
def test_the_scanner_accepts_references(text: str) -> None:
    assert text_findings(text) == []


def _catalog_with(tmp_path: Path, old: str, new: str) -> Path:
    catalogs = tmp_path / "catalogs"
    catalogs.mkdir()
    text = (CATALOGS / "divan-api.yaml").read_text(encoding="utf-8")
    assert old in text
    (catalogs / "divan-api.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return catalogs


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('url: "http://divan-api:8000/health/live"', 'url: "http://probe:hunter22@divan-api:8000/health/live"',
         "service.health[0].url", "password"),
        ('url: "http://divan-api:8000/health/ready"', 'url: "http://divan-api:8000/health/ready?token=abc123"',
         "service.health[1].url", "query credential"),
        ("  escalation: Page the backend", "  escalation: Bearer abcdefghijklmnopqrstuvwxyz0123 then page the backend",
         "service.escalation", "bearer token"),
    ],
)
def test_catalog_with_an_inline_secret_is_refused(tmp_path: Path, old: str, new: str, field: str, words: str) -> None:
    catalogs = _catalog_with(tmp_path, old, new)
    with pytest.raises(CatalogError) as err:
        load_bundle(catalogs, "prod")
    problems = [str(p) for p in err.value.problems]
    assert any(field in p and words in p for p in problems), problems
    assert all("divan-api.yaml:" in p for p in problems)  # located: file and line


def test_load_test_secrets_must_come_from_the_environment(tmp_path: Path) -> None:
    catalogs = tmp_path / "catalogs"
    catalogs.mkdir()
    extra = textwrap.dedent(
        """\
        load_tests:
          - name: login
            executor: constant-vus
            vus: 1
            duration: 10s
            requests:
              - name: login
                method: POST
                path: /auth/login
                headers_env: {Authorization: AP_TOKEN}
                body: {user: load, password: hunter2}
        """
    )
    (catalogs / "ap.yaml").write_text(ROUTED_CATALOG + extra, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_bundle(catalogs, "prod")
    problems = [str(p) for p in err.value.problems]
    assert any("load_tests[0].requests[0].body.password" in p and "literal secret" in p for p in problems), problems
    assert not any("headers_env" in p for p in problems), problems  # env variable names are references
    (catalogs / "ap.yaml").write_text(ROUTED_CATALOG + extra.replace("password: hunter2", "note: fine"), encoding="utf-8")
    assert load_bundle(catalogs, "prod").services  # the same catalog without the literal loads


def test_the_repository_catalogs_are_clean() -> None:
    assert repo_bundle().services
