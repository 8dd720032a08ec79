"""``photobot models``: the local engine's stronger cut-out model, installed once after pip."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.telegram.ui.i18n import t

FAILED = 1


def install(args: argparse.Namespace) -> int:
    """Download u2net.onnx into ``args.dir`` (or the default models folder) unless it is there."""
    from providers.localengine.install import ModelInstallError, install_u2net

    lang: str = args.lang
    print(t(lang, "cli.models_fetching"), file=sys.stderr)
    try:
        path = install_u2net(Path(args.dir) if args.dir else None)
    except (ModelInstallError, OSError) as err:
        print(t(lang, "cli.models_failed", reason=err), file=sys.stderr)
        return FAILED
    print(t(lang, "cli.models_installed", path=path, size=round(path.stat().st_size / 1e6)))
    return 0
