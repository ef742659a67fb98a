"""The interface every inference backend implements, and the table that picks one.

A backend runs one network on a batch of pre-processed crops and returns its named outputs as numpy arrays;
it knows nothing about images, boxes or SMPL-X. Estimators own pre- and post-processing, so a new runtime
(ONNX Runtime, TensorRT) only has to produce the same named outputs from the same input batch.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

PRECISIONS = ("fp32", "bf16", "fp16")


@runtime_checkable
class InferenceBackend(Protocol):
    """name: the backend's table name ("torch"). suffixes: model-file suffixes it opens.
    precision: the compute precision it runs at (one of PRECISIONS). output_names: keys of every result.
    size: the SMPLer-X size the model file holds ("s", "b", "l", "h"; "tiny" in tests).
    """

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    precision: str
    output_names: tuple[str, ...]
    size: str

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """batch: (N, 3, H, W) float32 → {output name: float32 array with leading dimension N}."""
        ...

    def warmup(self) -> None:
        """Run once on a dummy batch so the first real frame does not pay for lazy initialisation."""
        ...

    def close(self) -> None:
        """Release the model and any runtime resources; the backend is unusable afterwards."""
        ...
