"""The one-regex prefilters in front of slower exact checks pass exactly what the exact checks pass.

catalog/text.py clears a string with one search before judging it character by character, and secrets.py
searches all literal-credential shapes at once before naming which one matched. Both must never let through
what the exact check would refuse.
"""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from obsgen import secrets
from obsgen.catalog import text


def _refused_by_definition(char: str, multiline: bool) -> bool:
    """The rule as catalog/text.py states it: line breaks, Zl, Zp and Cc, with newline and tab allowed in prose."""
    if multiline and char in "\n\t":
        return False
    return char in "\n\r\u2028\u2029\x85" or unicodedata.category(char) in ("Zl", "Zp", "Cc")


def test_text_prefilter_matches_the_rule_on_every_code_point() -> None:
    for multiline, pattern in ((False, text._REFUSED), (True, text._REFUSED_IN_PROSE)):
        refused = {chr(c) for c in range(sys.maxunicode + 1) if _refused_by_definition(chr(c), multiline)}
        matched = {chr(c) for c in range(sys.maxunicode + 1) if pattern.fullmatch(chr(c))}
        assert refused == matched, sorted(refused ^ matched)[:10]


def test_bad_character_still_names_the_character() -> None:
    assert text.bad_character("ok\x85") == "a line break (U+0085)"
    assert text.bad_character("prose\twith\ttabs\n", multiline=True) is None
    assert text.bad_character("prose\rline", multiline=True) == "a line break (\\r)"


SAMPLES = [
    "https://user:hunter2@example.com/x", "HTTPS://USER:PW@EXAMPLE.COM", "Authorization: Bearer abcdefghijklmnop1234",
    "-----BEGIN RSA PRIVATE KEY-----", "xoxb-1234567890-abc", "https://hooks.slack.com/services/T000/B000/XXX",
    "AKIAABCDEFGHIJKLMNOP", "ghp_" + "a" * 36, "sk_live_abcdefghijkl", "eyJabcdefghij.eyJabcdefghij.abcdefghij",
    "https://x.example/?API_KEY=abc", "GRAFANA_ADMIN_PASSWORD=admin", "admin_password: 'changeme'",
    "plain text", "rate(x[5m]) > 1", "https://example.com/path", "", "bearer short",
]


def test_secret_prefilter_agrees_on_known_shapes() -> None:
    for sample in SAMPLES:
        exact = [what for what, pattern in secrets.VALUE_PATTERNS if pattern.search(sample)]
        assert secrets.value_findings(sample) == exact, sample
        assert bool(secrets._ANY_VALUE.search(sample)) == bool(exact), sample
    assert sum(bool(secrets.value_findings(s)) for s in SAMPLES) >= 12  # the samples do exercise the shapes


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(SAMPLES) | st.text(max_size=30), max_size=4).map("".join))
def test_secret_prefilter_agrees_on_random_text(sample: str) -> None:
    exact = any(pattern.search(sample) for _, pattern in secrets.VALUE_PATTERNS)
    assert bool(secrets._ANY_VALUE.search(sample)) == exact
