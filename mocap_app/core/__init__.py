"""Core records, errors, config and the SMPL-X skeleton (numpy only; the bottom layer)."""

from .config import AppConfig, load_config
from .errors import (
    BodyModelError,
    CaptureError,
    ClipFormatError,
    ConfigError,
    DependencyError,
    ExportError,
    MocapError,
    ModelFileError,
    UnsupportedFormatError,
)
from .frames import CameraIntrinsics, Detection, Frame
from .params import MotionClip, SmplxParams
from .skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, forward_kinematics

__all__ = [
    "JOINT_NAMES",
    "NUM_JOINTS",
    "PARENTS",
    "AppConfig",
    "BodyModelError",
    "CameraIntrinsics",
    "CaptureError",
    "ClipFormatError",
    "ConfigError",
    "DependencyError",
    "Detection",
    "ExportError",
    "Frame",
    "MocapError",
    "ModelFileError",
    "MotionClip",
    "SmplxParams",
    "UnsupportedFormatError",
    "forward_kinematics",
    "load_config",
]
