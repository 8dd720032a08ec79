"""The full U²-Net in 8-bit integers, or with float16 weights: run by ``photobot models``
(install.py) in its own interpreter, with ``onnx`` and onnxruntime's quantisation tool from a
temporary folder, so that it imports nothing of photobot and neither becomes a dependency of the
engine.

Its convolutions read 8-bit activations and weights (QDQ format, a scale per output channel for
the weights), which onnxruntime runs as integer convolutions with VNNI (install.integer_exact):
about half the CPU of the float32 network, its masks within a few hundredths where they are sure
(docs/benchmarks.md, "The full U²-Net in 8 bits"). The first convolution (the photo itself) and
the seven that make the side outputs and their fusion (each read by a Sigmoid, directly or
through a Resize) stay in float32: the masks' edges come from them.

The activations' ranges are the calibration's (``providers/data/u2net_int8_ranges.json``): the
least and greatest value of each over the tuned real photos of ``bench/real_photos.py``, worked
out by ``bench/u2net_ranges.py`` with the ``ranges`` command below. Quantising from them needs no
photo, and gives the same file every time (install.py pins it by hash).

On processors where the 8-bit network does not run as measured (install.integer_exact), the
network is stored with its weights in float16 instead (``halve``): each float32 initializer becomes a
float16 one (``<name>_float16``) and a Cast node in front of the graph makes ``<name>`` of it
again, which onnxruntime folds when it loads the model, so that it computes in float32 as before.

    python quantise.py ranges SOURCE.onnx INPUTS.npy RANGES.json TARGET.onnx
    python quantise.py quantise SOURCE.onnx RANGES.json TARGET.onnx
    python quantise.py halve SOURCE.onnx TARGET.onnx
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

#: Per-channel weights need DequantizeLinear's axis, from opset 13 (the model is opset 11).
OPSET = 13


def _prepared(source: Path, folder: Path) -> tuple[Path, str, list[str]]:
    """``source`` at opset 13, written into ``folder``; its input's name; the convolutions kept in
    float32."""
    import onnx
    from onnx import version_converter

    model = version_converter.convert_version(onnx.load(str(source)), OPSET)
    graph = model.graph
    producer = {output: node for node in graph.node for output in node.output}
    entry = graph.input[0].name
    in_float32 = [node.name for node in graph.node if node.op_type == "Conv" and entry in node.input]
    for node in graph.node:
        if node.op_type != "Sigmoid":
            continue
        before = producer[node.input[0]]
        if before.op_type == "Resize":
            before = producer[before.input[0]]
        if before.op_type == "Conv":
            in_float32.append(before.name)
    path = folder / "prepared.onnx"
    onnx.save(model, str(path))
    return path, entry, in_float32


def _quantise(source: Path, ranges: Path, target: Path, inputs: Path | None) -> None:
    """``source`` quantised into ``target`` with the activations' ranges in ``ranges``; where
    ``inputs`` (the network's input tensors) is given, the ranges are worked out over them first
    and written to ``ranges``."""
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    with tempfile.TemporaryDirectory() as folder:
        prepared, name, in_float32 = _prepared(source, Path(folder))
        reader = None
        if inputs is not None:
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
            nodes_to_exclude=in_float32,
            calibration_cache_path=str(ranges),
        )


def _halve(source: Path, target: Path) -> None:
    """``source`` with its float32 weights stored as float16, written to ``target``."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    casts = []
    for tensor in graph.initializer:
        if tensor.data_type != TensorProto.FLOAT:
            continue
        name = tensor.name
        half = numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), name + "_float16")
        tensor.CopyFrom(half)
        casts.append(helper.make_node("Cast", [tensor.name], [name], name=name + "_to_float32", to=TensorProto.FLOAT))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def main(arguments: list[str]) -> int:
    if arguments[:1] == ["ranges"] and len(arguments) == 5:
        _, source, inputs, ranges, target = arguments
        # onnxruntime reads the ranges from this file where it exists and works them out only where
        # it does not.
        Path(ranges).unlink(missing_ok=True)
        _quantise(Path(source), Path(ranges), Path(target), Path(inputs))
    elif arguments[:1] == ["quantise"] and len(arguments) == 4:
        _, source, ranges, target = arguments
        _quantise(Path(source), Path(ranges), Path(target), None)
    elif arguments[:1] == ["halve"] and len(arguments) == 3:
        _, source, target = arguments
        _halve(Path(source), Path(target))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
