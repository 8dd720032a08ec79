"""Benchmark: how much the README's run install with the local engine puts on disk.

In a fresh venv it runs what README.md tells an operator to run, ``pip install '.[local]'`` (no test
extras) and ``photobot models``, from a checkout (default: this one; ``--source`` another, e.g. an
older commit's ``git archive``), and reports the size of site-packages by distribution (the files of
its RECORD) and of the model files ``photobot models`` put in place. pip, setuptools and the
interpreter's own files come with every venv and are shown apart.

    python bench/install_size.py [--source DIR] [--keep DIR]

Not a test: it prints Markdown for docs/benchmarks.md. pip's cache makes repeated runs quick.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

MB = 1e6
#: Distributions that every venv has before anything is installed.
VENV_OWN = {"pip", "setuptools"}
#: Run inside the new venv: the size of each distribution's files, and of site-packages as a whole.
_SIZES = """
import importlib.metadata, json, os, sysconfig
site = sysconfig.get_path("purelib")
sizes, seen = {}, set()
for dist in importlib.metadata.distributions():
    total = 0
    for file in dist.files or []:
        path = os.path.realpath(file.locate())
        if path.startswith(site) and path not in seen and os.path.isfile(path):
            seen.add(path)
            total += os.path.getsize(path)
    sizes[dist.metadata["Name"]] = total
whole = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(site) for f in fs)
print(json.dumps({"sizes": sizes, "whole": whole}))
"""


def _run(command: list[str]) -> None:
    print("$", " ".join(command), file=sys.stderr)
    subprocess.run(command, check=True)


def measure(source: Path, work: Path) -> tuple[dict[str, int], int, dict[str, int]]:
    """(bytes by distribution, bytes of site-packages, bytes by model file) of the install."""
    venv, models = work / "venv", work / "models"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", f"{source}[local]"])
    # photobot runs pip as its own interpreter's module: the new venv's.
    _run([str(venv / "bin" / "photobot"), "models", "--dir", str(models)])
    found = json.loads(subprocess.run([str(python), "-c", _SIZES], check=True, capture_output=True).stdout)
    files = {path.name: path.stat().st_size for path in sorted(models.iterdir()) if path.is_file()}
    return found["sizes"], found["whole"], files


def report(sizes: dict[str, int], whole: int, files: dict[str, int], largest: int = 15) -> str:
    installed = {name: size for name, size in sizes.items() if name.lower() not in VENV_OWN}
    ranked = sorted(installed.items(), key=lambda item: -item[1])
    rest = ranked[largest:]
    lines = ["| what | MB |", "|---|---:|"]
    lines += [f"| {name} | {size / MB:.1f} |" for name, size in ranked[:largest]]
    lines.append(f"| {len(rest)} other distributions | {sum(size for _, size in rest) / MB:.1f} |")
    packages = sum(installed.values())
    venv_own = whole - packages
    model_bytes = sum(files.values())
    lines.append(f"| **site-packages, installed distributions** | **{packages / MB:.0f}** |")
    lines += [f"| model file {name} | {size / MB:.1f} |" for name, size in files.items()]
    lines.append(f"| **installed distributions and model files** | **{(packages + model_bytes) / MB:.0f}** |")
    lines.append(f"| the venv's own pip and setuptools (and caches) | {venv_own / MB:.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1], help="the checkout")
    parser.add_argument("--keep", type=Path, help="build the venv here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        print(report(*measure(args.source.resolve(), args.keep)))
        return 0
    with tempfile.TemporaryDirectory() as work:
        print(report(*measure(args.source.resolve(), Path(work))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
