"""The array type the engine passes around: images (H×W×3 uint8), masks and points (float)."""

from __future__ import annotations

from typing import Any, TypeAlias

from numpy.typing import NDArray

#: Any NumPy array; the engine's functions name the shape and dtype they expect in their docstrings.
Array: TypeAlias = NDArray[Any]
