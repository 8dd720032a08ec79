"""The interface operators and CI rely on: README commands, .ci/run, the Dockerfile."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    test_block = readme.split("## Tests", 1)[1]
    command = re.search(r"```sh\n(.+?)\n```", test_block, flags=re.S).group(1).strip()
    assert command in (ROOT / ".ci" / "run").read_text()


def test_dockerfile_runs_as_non_root_with_a_volume_and_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[1-9]-slim", dockerfile, flags=re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, flags=re.M)
    assert 'VOLUME ["/data"]' in dockerfile and "PHOTOBOT_DB=/data/" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert dockerfile.rstrip().endswith('CMD ["photobot", "run"]')
