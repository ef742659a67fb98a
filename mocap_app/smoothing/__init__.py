"""Temporal smoothing of SMPL-X parameters per track: causal (live) and zero-lag (recorded clips).

Kalman filters (constant velocity or acceleration) on quaternions, translation and expression,
with confidence-scaled measurement noise, outlier gating and bridging of missing frames; a
running mean of the shape; a one-euro filter as an alternative. Pure numpy per frame.
"""

from __future__ import annotations

from .config import PRESETS, SmoothingConfig, smoothing_config
from .offline import smooth_clip
from .online import OnlineSmoother

__all__ = ["PRESETS", "OnlineSmoother", "SmoothingConfig", "smooth_clip", "smoothing_config"]
