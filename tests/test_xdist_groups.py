"""`make test` relies on pytest-xdist's `--dist loadgroup`: tests marked `xdist_group` share one worker, so a costly
fixture (the wheel's virtual environment, the project-knob trees) is built once. pytest 9.2 broke that silently with
pytest-xdist 3.8 (each grouped test went to any worker and rebuilt its fixture); this runs a tiny suite the way
`make test` does and fails if the grouped tests are spread.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from conftest import run

PROBE = textwrap.dedent(
    """
    import json, os
    import pytest

    pytestmark = pytest.mark.xdist_group("together")

    @pytest.mark.parametrize("n", range(8))
    def test_grouped(n):
        with open(os.environ["PROBE_OUT"], "a") as f:
            f.write(json.dumps([n, os.environ["PYTEST_XDIST_WORKER"]]) + "\\n")
    """
)
FILLER = "import pytest\n\n@pytest.mark.parametrize('n', range(8))\ndef test_filler(n):\n    pass\n"


def test_grouped_tests_share_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "test_filler.py").write_text(FILLER)
    out = tmp_path / "workers.jsonl"
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "4", "--dist", "loadgroup",
                  "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path)],
                 cwd=tmp_path, env={"PROBE_OUT": str(out)}, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(n for n, _ in seen) == list(range(8))
    workers = {w for _, w in seen}
    assert len(workers) == 1, f"the xdist_group's tests ran on {sorted(workers)}: loadgroup is not honoured"
