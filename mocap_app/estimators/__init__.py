"""Estimators: one frame + its people → SMPL-X parameters.

`base.Estimator` is the interface; implementations live in their own modules (`smplerx`, `landmarks`) and are
imported from there, so importing this package pulls in no model runtime.
"""

from .base import Estimator

__all__ = ["Estimator"]
