"""``photobot models``: the local engine's model files, installed once after pip."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.telegram.ui.i18n import t

FAILED = 1


def install(args: argparse.Namespace) -> int:
    """Download the model files into ``args.dir`` (or the default models folder) unless they are there."""
    from providers.localengine.install import ModelInstallError, install_models

    lang: str = args.lang
    print(t(lang, "cli.models_fetching"), file=sys.stderr)
    try:
        paths = install_models(Path(args.dir) if args.dir else None)
    except (ModelInstallError, OSError) as err:
        print(t(lang, "cli.models_failed", reason=err), file=sys.stderr)
        return FAILED
    size = round(sum(path.stat().st_size for path in paths) / 1e6)
    print(t(lang, "cli.models_installed", path=paths[0].parent, size=size))
    return 0
