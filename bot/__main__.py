"""``python -m bot``: the ``photobot`` command (bot/main/cli: its console script, ``run``)."""

from __future__ import annotations

from bot.main.cli import run

if __name__ == "__main__":
    run()
