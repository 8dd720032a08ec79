"""TensorFlow Lite models run with LiteRT, MediaPipe's three custom operations included.

Face Mesh with irises (``face_landmark_with_attention.tflite``) crops the regions around the lips
and eyes inside the network with three operations that only MediaPipe's framework registers
(Landmarks2TransformMatrix, TransformTensorBilinear, TransformLandmarks). LiteRT cannot load such a
model, so it is cut at those operations into parts of standard operations: each part is a model of
its own (the same tensors, weights and operators, only fewer operators), LiteRT runs the parts, and
the custom operations run here in NumPy between them, as MediaPipe's CPU kernels compute them
(``mediapipe/util/tflite/operations/*.cc``, version 2). A model without them is one part (LiteRT
has MediaPipe's other custom operation, Convolution2DTransposeBias, built in).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from providers.localengine.arrays import Array

#: Threads for one inference: the engine's worker is one process on a small server.
THREADS = 1


def _rotation(angle: float) -> Array:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], dtype=np.float32)


def landmarks_to_transform_matrix(options: Mapping[str, Any], landmarks: Array) -> Array:
    """The 4x4 matrix from a crop's pixels (``output_width`` by ``output_height``) to the feature
    map: the box around the ``subset_idxs`` landmarks, turned so that the line from the left to the
    right rotation landmark is level, widened by ``scale_x`` and ``scale_y``."""
    points = landmarks.reshape(-1, 3)[:, :2].astype(np.float32)
    left, right = points[int(options["left_rotation_idx"])], points[int(options["right_rotation_idx"])]
    rotation = float(options.get("target_rotation_radians", 0.0)) - float(
        np.arctan2(right[1] - left[1], right[0] - left[0])
    )
    subset = points[np.asarray(options["subset_idxs"], dtype=np.int64)]
    turned = subset @ _rotation(rotation).T
    low, high = turned.min(axis=0), turned.max(axis=0)
    width, height = high - low
    centre = _rotation(-rotation) @ ((low + high) / 2)
    out_w, out_h = float(options["output_width"]), float(options["output_height"])
    cos, sin = np.cos(-rotation), np.sin(-rotation)
    scale_x = float(options["scale_x"]) * width / out_w
    scale_y = float(options["scale_y"]) * height / out_h
    # shift(centre) @ rotate(-rotation) @ scale @ shift(-output / 2), multiplied out.
    matrix = np.eye(4, dtype=np.float32)
    matrix[0, :2] = cos * scale_x, -sin * scale_y
    matrix[1, :2] = sin * scale_x, cos * scale_y
    matrix[0, 3] = centre[0] - (matrix[0, 0] * out_w / 2 + matrix[0, 1] * out_h / 2)
    matrix[1, 3] = centre[1] - (matrix[1, 0] * out_w / 2 + matrix[1, 1] * out_h / 2)
    return matrix[None]


@lru_cache(maxsize=4)
def _pixel_grid(height: int, width: int) -> tuple[Array, Array]:
    """The columns and rows of a ``height`` x ``width`` crop's pixels, as float32 grids."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def transform_tensor_bilinear(options: Mapping[str, Any], features: Array, matrix: Array) -> Array:
    """The ``output_height`` x ``output_width`` crop of a feature map (1, H, W, C) that ``matrix``
    maps onto, sampled bilinearly; zero where a sample falls outside the map."""
    height, width, channels = features.shape[1:4]
    out_h, out_w = int(options["output_height"]), int(options["output_width"])
    m = matrix.reshape(4, 4).astype(np.float32)
    # Pixel centres: the kernel shifts the translation by half a pixel on both sides.
    x_shift = m[0, 3] + m[0, 0] * 0.5 + m[0, 1] * 0.5 - 0.5
    y_shift = m[1, 3] + m[1, 0] * 0.5 + m[1, 1] * 0.5 - 0.5
    xs, ys = _pixel_grid(out_h, out_w)
    tx = (m[0, 0] * xs + m[0, 1] * ys + x_shift).ravel()
    ty = (m[1, 0] * xs + m[1, 1] * ys + y_shift).ravel()
    inside = (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)
    x0, y0 = np.floor(tx), np.floor(ty)
    right, lower = (tx - x0)[:, None], (ty - y0)[:, None]
    # Neighbours past the map's edges are read clipped: they weigh 0 (a sample on the last row or
    # column) or the sample is outside and zeroed.
    # np.minimum and np.maximum, not np.clip: its Python wrapper costs more than the work here.
    x0i = np.minimum(np.maximum(x0.astype(np.int64), 0), width - 1)
    y0i = np.minimum(np.maximum(y0.astype(np.int64), 0), height - 1) * width
    x1i, y1i = np.minimum(x0i + 1, width - 1), np.minimum(y0i + width, (height - 1) * width)
    # The four neighbours of every sample in one gather.
    corners = np.take(features.reshape(-1, channels), np.stack([y0i + x0i, y0i + x1i, y1i + x0i, y1i + x1i]), axis=0)
    left = 1 - right
    upper = left * corners[0] + right * corners[1]
    below = left * corners[2] + right * corners[3]
    result = lower * below + (1 - lower) * upper
    result[~inside] = 0
    out: Array = result.astype(np.float32, copy=False).reshape(1, out_h, out_w, channels)
    return out


def transform_landmarks(_options: Mapping[str, Any], landmarks: Array, matrix: Array) -> Array:
    """2D landmarks (1, N, 2) of a crop mapped by ``matrix`` onto the feature map."""
    m = matrix.reshape(4, 4).astype(np.float32)
    points = landmarks.reshape(-1, 2).astype(np.float32)
    mapped: Array = (points @ m[:2, :2].T + m[:2, 3]).reshape(landmarks.shape).astype(np.float32)
    return mapped


CustomOp = Callable[..., Array]
CUSTOM_OPS: dict[str, CustomOp] = {
    "Landmarks2TransformMatrix": landmarks_to_transform_matrix,
    "TransformTensorBilinear": transform_tensor_bilinear,
    "TransformLandmarks": transform_landmarks,
}


@dataclass(frozen=True)
class Custom:
    """One of MediaPipe's operations (``CUSTOM_OPS``), run between the parts: its ``options`` as the
    model holds them (parts.py keeps them on disk as JSON), and as its run reads them."""

    name: str
    options: Mapping[str, Any]
    inputs: tuple[int, ...]
    output: int
    #: ``options`` with vectors (the landmarks' indices) as arrays, made once, not once a run.
    run_options: Mapping[str, Any] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        arrays = {key: np.asarray(value) if isinstance(value, list) else value for key, value in self.options.items()}
        object.__setattr__(self, "run_options", arrays)


@dataclass(frozen=True)
class Part:
    """A model of standard operations (.tflite bytes) and which of the whole model's tensors it
    reads and writes."""

    content: bytes
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    """How a model runs: its parts and custom operations in an order that computes every tensor
    before it is read, and the whole model's inputs and outputs."""

    steps: tuple[Part | Custom, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class _Loaded:
    interpreter: Any
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


class TfliteModel:
    """A .tflite model: ``run`` takes its input tensors and returns its output tensors in the
    model's order. One call at a time (the interpreters keep their tensors)."""

    def __init__(self, plan: Plan) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._lock = threading.Lock()
        self._inputs, self._outputs = plan.inputs, plan.outputs
        self._steps: list[_Loaded | Custom] = []
        for step in plan.steps:
            if isinstance(step, Custom):
                self._steps.append(step)
                continue
            interpreter = Interpreter(model_content=step.content, num_threads=THREADS)
            interpreter.allocate_tensors()
            self._steps.append(_Loaded(interpreter, step.inputs, step.outputs))

    @classmethod
    def of(cls, content: bytes) -> TfliteModel:
        """The model in ``content``, cut into parts where it has custom operations."""
        return cls(split(content))

    def run(self, *inputs: Array) -> list[Array]:
        with self._lock:
            values: dict[int, Array] = dict(zip(self._inputs, inputs, strict=True))
            for step in self._steps:
                if isinstance(step, Custom):
                    args = [values[index] for index in step.inputs]
                    values[step.output] = CUSTOM_OPS[step.name](step.run_options, *args)
                    continue
                for index in step.inputs:
                    step.interpreter.set_tensor(index, values[index])
                step.interpreter.invoke()
                for index in step.outputs:
                    values[index] = step.interpreter.get_tensor(index)
            return [values[index] for index in self._outputs]


def needs_split(content: bytes) -> bool:
    """Whether the model has operations that only MediaPipe's framework registers."""
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAsModel(content, 0)
    codes = {root.OperatorCodes(i).CustomCode() for i in range(root.OperatorCodesLength())}
    return bool({code.decode() for code in codes if code} & CUSTOM_OPS.keys())


def split(content: bytes) -> Plan:
    """The model as a :class:`Plan`: one part where it has no custom operations (unpacking and
    packing it again costs a tenth of a second), else parts of standard operations between them.
    Plans are kept on disk (parts.py): raise ``parts.VERSION`` when what this makes changes."""
    from ai_edge_litert import schema_py_generated as schema
    from flatbuffers import flexbuffers

    root = schema.Model.GetRootAsModel(content, 0)
    if not needs_split(content):
        subgraph = root.Subgraphs(0)
        inputs = tuple(int(i) for i in subgraph.InputsAsNumpy())
        outputs = tuple(int(i) for i in subgraph.OutputsAsNumpy())
        return Plan((Part(content, inputs, outputs),), inputs, outputs)
    model = schema.ModelT.InitFromObj(root)
    graph = model.subgraphs[0]
    codes = model.operatorCodes
    constant = {
        index
        for index, tensor in enumerate(graph.tensors)
        if tensor.buffer and model.buffers[tensor.buffer].data is not None
    }

    def custom_name(operator: Any) -> str | None:
        """The name of one of MediaPipe's operations that LiteRT lacks (CUSTOM_OPS), else None."""
        code = codes[operator.opcodeIndex].customCode
        name = code.decode() if code else None
        return name if name in CUSTOM_OPS else None

    # Operators that read only weights (fp16 weights made fp32) go into every part that reads
    # their outputs, as weights: LiteRT's XNNPACK folds them there.
    weights: list[Any] = []
    for operator in graph.operators:
        if custom_name(operator) is None and all(i < 0 or i in constant for i in operator.inputs):
            weights.append(operator)
            constant.update(int(i) for i in operator.outputs)

    # A part's number: after how many custom operations on the way to it it runs.
    part_of: dict[int, int] = dict.fromkeys(graph.inputs, 0)
    operators: list[tuple[int, Any]] = []
    for operator in graph.operators:
        if any(operator is w for w in weights):
            continue
        reads = [i for i in operator.inputs if i >= 0 and i not in constant]
        number = max((part_of.get(i, 0) for i in reads), default=0)
        if custom_name(operator) is not None:
            number += 1
        for index in operator.outputs:
            part_of[index] = number
        operators.append((number, operator))

    read_later: dict[int, int] = {}  # tensor -> the last part (or custom step) that reads it
    for number, operator in operators:
        for index in operator.inputs:
            read_later[index] = max(read_later.get(index, -1), number)
    outputs = tuple(int(i) for i in graph.outputs)
    for index in outputs:
        read_later[index] = 1 << 30

    steps: list[Part | Custom] = []
    original = (graph.operators, graph.inputs, graph.outputs)
    for number in range(max((n for n, _ in operators), default=0) + 1):
        custom = [op for n, op in operators if n == number and custom_name(op) is not None]
        for operator in custom:
            options = flexbuffers.Loads(bytes(operator.customOptions)) if operator.customOptions is not None else {}
            inputs = tuple(int(i) for i in operator.inputs if i >= 0)
            name = custom_name(operator)
            assert name is not None
            steps.append(Custom(name, options, inputs, int(operator.outputs[0])))
        builtin = [op for n, op in operators if n == number and custom_name(op) is None]
        if not builtin:
            continue
        made = {int(i) for op in builtin for i in op.outputs}
        read = [int(i) for op in builtin for i in op.inputs if i >= 0 and i not in constant and i not in made]
        part_inputs = tuple(dict.fromkeys(read))
        part_outputs = tuple(i for i in sorted(made) if read_later.get(i, -1) > number or i in outputs)
        needed = {int(i) for op in builtin for i in op.inputs}
        folded: list[Any] = []
        for op in reversed(weights):
            if any(int(i) in needed for i in op.outputs):
                folded.insert(0, op)
                needed.update(int(i) for i in op.inputs)
        graph.operators, graph.inputs, graph.outputs = folded + builtin, list(part_inputs), list(part_outputs)
        steps.append(Part(_packed(model, graph, folded + builtin), part_inputs, part_outputs))
    graph.operators, graph.inputs, graph.outputs = original
    return Plan(tuple(steps), tuple(int(i) for i in graph.inputs), outputs)


def _packed(model: Any, graph: Any, operators: list[Any]) -> bytes:
    """The model as a .tflite file with only the weights its ``operators`` read (a part with every
    buffer of the whole model would repeat all its weights): the tensors keep their indices, those
    the part does not touch point at buffer 0, TensorFlow Lite's empty one; the model's metadata
    (its minimum runtime version) keeps its own buffers, renumbered with the rest."""
    import flatbuffers

    touched = {int(i) for op in operators for i in (*op.inputs, *op.outputs) if i >= 0}
    buffers, original = model.buffers, [tensor.buffer for tensor in graph.tensors]
    metadata = list(model.metadata or [])
    original_metadata = [entry.buffer for entry in metadata]
    kept: dict[int, int] = {0: 0}
    for index, tensor in enumerate(graph.tensors):
        tensor.buffer = kept.setdefault(tensor.buffer, len(kept)) if index in touched else 0
    for entry in metadata:
        entry.buffer = kept.setdefault(entry.buffer, len(kept))
    model.buffers = [buffers[old] for old in kept]
    try:
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())
    finally:
        model.buffers = buffers
        for tensor, buffer in zip(graph.tensors, original, strict=True):
            tensor.buffer = buffer
        for entry, buffer in zip(metadata, original_metadata, strict=True):
            entry.buffer = buffer
