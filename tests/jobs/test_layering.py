"""The runner stays below Telegram: what these tests drive is what a worker imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_runner_loads_no_telegram() -> None:
    """In a fresh interpreter (this one has python-telegram-bot loaded by other tests' fixtures),
    from the checkout these tests belong to."""
    probe = (
        "import json, sys; import bot.jobs.runner; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'telegram')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []
