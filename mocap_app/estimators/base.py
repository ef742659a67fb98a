"""The interface every estimator implements: one frame + its people → one SMPL-X record per person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from mocap_app.core.frames import Detection, Frame
from mocap_app.core.params import SmplxParams


@runtime_checkable
class Estimator(Protocol):
    """name: a short identifier recorded in clips ("smplerx-s")."""

    name: str

    def estimate(self, frame: Frame, persons: Sequence[Detection]) -> list[SmplxParams]:
        """All `persons` of `frame` in one batch. Returns one record per person whose box overlaps the image, in
        the order of `persons`, each carrying that person's `track_id`, score (as `confidence`) and box."""
        ...

    def close(self) -> None:
        """Release the model; the estimator is unusable afterwards."""
        ...
