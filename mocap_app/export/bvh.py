"""BVH (Biovision hierarchy) writer: the SMPL-X skeleton with Euler rotation channels per frame."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, ClassVar

import numpy as np

from mocap_app.core.files import atomic_write
from mocap_app.core.params import MotionClip

from .base import ExportOptions, check_clip
from .motion import SkeletonMotion, skeleton_motion
from .rotations import matrix_to_euler, unwrap_angles

_END_SITE_FRACTION = 0.5  # leaf bones get an end site half as long as the bone leading to them


def _children(parents: tuple[int, ...]) -> list[list[int]]:
    children: list[list[int]] = [[] for _ in parents]
    for j, parent in enumerate(parents):
        if parent >= 0:
            children[parent].append(j)
    return children


def _hierarchy(motion: SkeletonMotion, order: str) -> tuple[str, list[int]]:
    """The HIERARCHY section and the bones in the order their channels appear in each frame line."""
    children = _children(motion.parents)
    rotation_channels = " ".join(f"{axis}rotation" for axis in order)
    lines = ["HIERARCHY"]
    channel_order: list[int] = []

    def emit(j: int, depth: int) -> None:
        pad = "\t" * depth
        channel_order.append(j)
        if motion.parents[j] < 0:
            # Root OFFSET 0: readers disagree on whether it adds to the position channels.
            lines.append(f"{pad}ROOT {motion.names[j]}")
            lines.append(f"{pad}{{")
            lines.append(f"{pad}\tOFFSET 0.000000 0.000000 0.000000")
            lines.append(f"{pad}\tCHANNELS 6 Xposition Yposition Zposition {rotation_channels}")
        else:
            x, y, z = motion.offsets[j]
            lines.append(f"{pad}JOINT {motion.names[j]}")
            lines.append(f"{pad}{{")
            lines.append(f"{pad}\tOFFSET {x:.6f} {y:.6f} {z:.6f}")
            lines.append(f"{pad}\tCHANNELS 3 {rotation_channels}")
        for child in children[j]:
            emit(child, depth + 1)
        if not children[j]:
            parent = motion.parents[j]
            tip = motion.offsets[j] * _END_SITE_FRACTION if parent >= 0 else np.array([0.0, motion.scale * 0.1, 0.0])
            lines.append(f"{pad}\tEnd Site")
            lines.append(f"{pad}\t{{")
            lines.append(f"{pad}\t\tOFFSET {tip[0]:.6f} {tip[1]:.6f} {tip[2]:.6f}")
            lines.append(f"{pad}\t}}")
        lines.append(f"{pad}}}")

    emit(0, 0)
    return "\n".join(lines) + "\n", channel_order


def motion_table(motion: SkeletonMotion, order: str, channel_order: list[int]) -> np.ndarray:
    """(T, 6 + 3·(J−1)) frame values: root position, then each bone's Euler angles in degrees."""
    angles = np.degrees(unwrap_angles(matrix_to_euler(motion.local_rotations[:, channel_order], order)))
    return np.concatenate([motion.root_positions, angles.reshape(motion.num_frames, -1)], axis=1)


class BvhExporter:
    """Writes .bvh: ROOT pelvis with 6 channels, every other joint with 3 rotation channels."""

    format: ClassVar[str] = "bvh"
    suffix: ClassVar[str] = ".bvh"
    options: ClassVar[tuple[str, ...]] = ("root", "rest_joints", "hands", "face", "bone_names", "rotation_order",
                                          "units", "fps")

    def write(self, clip: MotionClip, path: Path, options: ExportOptions) -> Path:
        check_clip(clip)
        motion = skeleton_motion(clip, options, up_axis="y")
        hierarchy, channel_order = _hierarchy(motion, options.rotation_order)
        table = motion_table(motion, options.rotation_order, channel_order)
        header = f"MOTION\nFrames: {motion.num_frames}\nFrame Time: {1.0 / motion.fps:.8f}\n"

        def write(handle: BinaryIO) -> None:
            handle.write((hierarchy + header).encode("ascii"))
            np.savetxt(handle, table, fmt="%.6f", delimiter=" ")

        return atomic_write(Path(path), write)
