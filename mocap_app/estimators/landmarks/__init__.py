"""The default, download-free estimator: MediaPipe holistic landmarks fitted to SMPL-X."""

from .estimator import EstimateTiming, LandmarkEstimator
from .fit import LandmarkFitter, PoseFit, solve_translation
from .holistic import OFFLINE_MODEL_COMPLEXITY, HolisticTracker
from .observation import HolisticLandmarks
from .synthetic import synthesize_landmarks

__all__ = [
    "OFFLINE_MODEL_COMPLEXITY",
    "EstimateTiming",
    "HolisticLandmarks",
    "HolisticTracker",
    "LandmarkEstimator",
    "LandmarkFitter",
    "PoseFit",
    "solve_translation",
    "synthesize_landmarks",
]
