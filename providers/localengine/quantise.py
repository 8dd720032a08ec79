"""The full U²-Net in 8-bit integers: run by ``photobot models`` (install.py) in its own interpreter,
with ``onnx`` and onnxruntime's quantisation tool from a temporary folder, so that it imports
nothing of photobot and neither becomes a dependency of the engine.

Its convolutions read 8-bit activations and weights (QDQ format, a scale per output channel for
the weights), which onnxruntime runs as integer convolutions (VNNI where the processor has it):
about half the CPU of the float32 network, its masks within a few hundredths where they are sure
(docs/benchmarks.md, "The full U²-Net in 8 bits"). The first convolution (the photo itself) and
the seven that make the side outputs and their fusion (each read by a Sigmoid, directly or
through a Resize) stay in float32: the masks' edges come from them.

The activations' ranges are the calibration's (``providers/data/u2net_int8_ranges.json``): the
least and greatest value of each over the tuned real photos of ``bench/real_photos.py``, worked
out by ``bench/u2net_ranges.py`` with the ``ranges`` command below. Quantising from them needs no
photo, and gives the same file every time (install.py pins it by hash).

    python quantise.py ranges SOURCE.onnx INPUTS.npy RANGES.json TARGET.onnx
    python quantise.py quantise SOURCE.onnx RANGES.json TARGET.onnx
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

#: Per-channel weights need DequantizeLinear's axis, from opset 13 (the model is opset 11).
OPSET = 13


def _prepared(source: Path, folder: Path) -> tuple[Path, list[str]]:
    """``source`` at opset 13, written into ``folder``, and the convolutions kept in float32."""
    import onnx
    from onnx import version_converter

    model = version_converter.convert_version(onnx.load(str(source)), OPSET)
    graph = model.graph
    producer = {output: node for node in graph.node for output in node.output}
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    entry = graph.input[0].name
    kept = [node.name for node in graph.node if node.op_type == "Conv" and entry in node.input]
    for node in graph.node:
        if node.op_type != "Sigmoid":
            continue
        before = producer[node.input[0]]
        if before.op_type == "Resize":
            before = producer[before.input[0]]
        if before.op_type == "Conv":
            kept.append(before.name)
    path = folder / "prepared.onnx"
    onnx.save(model, str(path))
    return path, kept


def _quantise(source: Path, ranges: Path, target: Path, inputs: Path | None) -> None:
    """``source`` quantised into ``target`` with the activations' ranges in ``ranges``; where
    ``inputs`` (the network's input tensors) is given, the ranges are worked out over them first
    and written to ``ranges``."""
    import numpy as np
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    with tempfile.TemporaryDirectory() as folder:
        prepared, kept = _prepared(source, Path(folder))
        reader = None
        if inputs is not None:
            name = onnx.load(str(prepared), load_external_data=False).graph.input[0].name
            tensors = iter(np.load(inputs))

            class _Inputs(CalibrationDataReader):  # type: ignore[misc]
                def get_next(self) -> dict[str, Any] | None:
                    tensor = next(tensors, None)
                    return None if tensor is None else {name: tensor[None]}

            reader = _Inputs()
        quantize_static(
            str(prepared),
            str(target),
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["Conv"],
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=kept,
            calibration_cache_path=str(ranges),
        )


def main(arguments: list[str]) -> int:
    if arguments[:1] == ["ranges"] and len(arguments) == 5:
        _, source, inputs, ranges, target = arguments
        Path(ranges).unlink(missing_ok=True)
        _quantise(Path(source), Path(ranges), Path(target), Path(inputs))
    elif arguments[:1] == ["quantise"] and len(arguments) == 4:
        _, source, ranges, target = arguments
        _quantise(Path(source), Path(ranges), Path(target), None)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
