"""``python -m bot``: the ``photobot`` command (bot/cli)."""

from __future__ import annotations

import sys

from bot.main.cli import main

if __name__ == "__main__":
    sys.exit(main())
