"""Fixtures for the exporter tests: synthetic clips and meshes, and independent readers run in subprocesses.

Readers (ufbx, bvhio, pygltflib, assimp, Blender's bpy) run as separate processes with a timeout: some
crash (ufbx 0.0.5 segfaults on misuse) or hang (bvhio on a short MOTION section) on bad files, and bpy
lives in its own venv (`.venv-bpy`, it pins an old numpy). A crash or hang fails the test, never the run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mocap_app.core.params import MotionClip
from mocap_app.core.skeleton import NUM_JOINTS, PARENTS
from mocap_app.export import SkinnedMesh, stick_figure_mesh
from mocap_app.export.rotations import matrix_to_quaternion

REPO = Path(__file__).resolve().parents[2]
READERS = Path(__file__).resolve().parent / "readers"
BPY_PYTHON = REPO / ".venv-bpy" / "bin" / "python"
READER_TIMEOUT_S = 120
# Blender's importers turn a y-up file into its z-up world: file +y → +z, file +z → −y.
Y_UP_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def make_clip(num_frames: int = 24, seed: int = 0, fps: float = 30.0, gender: str = "female") -> MotionClip:
    """Every joint swinging sinusoidally (up to ±0.7 rad per axis), the subject facing the camera, walking."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames)[:, None, None]
    amplitude = rng.uniform(-0.7, 0.7, (1, NUM_JOINTS, 3))
    phase = rng.uniform(0.0, 2 * np.pi, (1, NUM_JOINTS, 3))
    pose = amplitude * np.sin(0.2 * t + phase)
    pose[:, 0] += np.array([np.pi, 0.0, 0.0])  # facing the camera (smplx y-up body in a y-down camera)
    frames = np.arange(num_frames)
    transl = np.stack([0.3 * np.sin(0.1 * frames), 0.2 + 0.05 * np.cos(0.3 * frames), 3.0 + 0.02 * frames], 1)
    zeros = np.zeros((num_frames, 10))
    return MotionClip(
        global_orient=pose[:, 0], body_pose=pose[:, 1:22], jaw_pose=pose[:, 22], leye_pose=pose[:, 23],
        reye_pose=pose[:, 24], left_hand_pose=pose[:, 25:40], right_hand_pose=pose[:, 40:55],
        betas=zeros + rng.normal(0, 0.5, 10), expression=zeros, transl=transl,
        camera=np.tile([500.0, 500.0, 320.0, 240.0, 640.0, 480.0], (num_frames, 1)),
        confidence=np.ones(num_frames), joint_confidence=np.ones((num_frames, NUM_JOINTS)),
        box=np.zeros((num_frames, 4)), frame_index=frames, timestamp_ns=frames * 33_333_333, fps=fps,
        gender=gender, source={"test": "synthetic"})


def make_mesh(rest_joints: np.ndarray, num_frames: int) -> SkinnedMesh:
    """A skinned stick figure with blended weights at bone tips and two animated blend shapes on the head."""
    base = stick_figure_mesh(rest_joints, np.arange(NUM_JOINTS))
    weights = np.array(base.skin_weights, dtype=np.float64)
    owner = weights.argmax(axis=1)
    tips = np.arange(1, len(weights), 6)  # the second vertex of each bone sits on the child joint
    for v in tips:
        parent = PARENTS[owner[v]]
        if parent >= 0:
            weights[v] *= 0.7
            weights[v, parent] += 0.3
    head = np.linalg.norm(base.vertices - rest_joints[15], axis=1) < 0.12
    deltas = np.zeros((2, len(base.vertices), 3))
    deltas[0, head] = (0.0, -0.02, 0.01)
    deltas[1, head] = (0.01, 0.0, 0.0)
    frames = np.arange(num_frames)
    shape_weights = np.stack([0.5 + 0.5 * np.sin(0.3 * frames), 0.5 + 0.5 * np.cos(0.2 * frames)], axis=1)
    return SkinnedMesh(base.vertices, base.faces, weights, ("jawOpen", "eyeBlinkLeft"), deltas, shape_weights,
                       name="Body")


def run_reader(command: list[str], timeout: float = READER_TIMEOUT_S) -> dict:
    """Run a reader process; its last stdout line is JSON. A crash, hang or error fails the test."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"reader timed out after {timeout} s: {' '.join(command)}")
    if result.returncode != 0:
        pytest.fail(f"reader failed (exit {result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def read_with(reader: str, path: Path, frames: list[int]) -> dict:
    """One of the pip readers (ufbx, bvhio, gltf) in this venv."""
    return run_reader([sys.executable, str(READERS / f"read_{reader}.py"), str(path), *map(str, frames)])


def read_with_blender(importer: str, path: Path, fps: float, frames: list[int]) -> dict:
    return run_reader([str(BPY_PYTHON), str(READERS / "read_bpy.py"), importer, str(path), str(fps),
                       *map(str, frames)])


def assimp_info(path: Path) -> dict[str, int]:
    """`assimp info` counts (nodes, meshes, animations, bones, channels); fails on any import error."""
    result = subprocess.run(["assimp", "info", str(path)], capture_output=True, text=True, timeout=READER_TIMEOUT_S)
    if result.returncode != 0 or "ERROR" in result.stdout + result.stderr:
        pytest.fail(f"assimp could not read {path.name}:\n{(result.stdout + result.stderr)[-2000:]}")
    counts = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("Nodes", "Meshes", "Animations", "Bones", "Animation Channels", "Materials") \
                and key.strip() not in counts:  # later listings reuse these words
            counts[key.strip()] = int(value.split()[0])
    return counts


def quaternion_to_matrix(q_wxyz: list[float]) -> np.ndarray:
    w, x, y, z = np.asarray(q_wxyz, dtype=np.float64) / np.linalg.norm(q_wxyz)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle of the rotation between matrices a and b, in float64 (2·atan2(|v|, |w|): no acos noise floor)."""
    q = matrix_to_quaternion(a.T @ b)
    return float(np.degrees(2.0 * np.arctan2(np.linalg.norm(q[:3]), abs(q[3]))))


@pytest.fixture(scope="session")
def clip() -> MotionClip:
    return make_clip()


@pytest.fixture(scope="session")
def assimp() -> str:
    path = shutil.which("assimp")
    if path is None:
        pytest.skip("assimp is not installed (Debian: apt-get install assimp-utils)")
    return path


@pytest.fixture(scope="session")
def blender() -> Path:
    if not BPY_PYTHON.exists():
        pytest.skip(f"Blender oracle venv missing: create it with `python3 -m venv .venv-bpy && "
                    f".venv-bpy/bin/pip install -r requirements-bpy.txt` ({BPY_PYTHON} not found)")
    return BPY_PYTHON


def skinned_vertices(mesh: SkinnedMesh, motion, frame: int) -> np.ndarray:
    """(V, 3) our linear blend skinning of `mesh` (with the frame's blend shapes) by `motion` at `frame`,
    in the file's axes and units: what a reader's deformed mesh should be."""
    rotations, positions = motion.global_transforms()
    shaped = mesh.vertices
    if mesh.num_blend_shapes:
        shaped = shaped + np.einsum("k,kvc->vc", mesh.blend_shape_weights[frame], mesh.blend_shape_deltas)
    shaped = motion.to_file_space(shaped)
    per_joint = np.einsum("jab,vjb->vja", rotations[frame], shaped[:, None] - motion.rest_positions[None])
    return np.einsum("vj,vja->va", mesh.merged_weights(motion.joints), per_joint + positions[frame][None])


def blender_errors(data: dict, motion, to_blender: np.ndarray, frames: list[int],
                   root_scale: float) -> tuple[float, float]:
    """Max local-rotation error (degrees) and root-position error (file units) of a Blender import.

    Blender gives each bone's world rotation relative to its own rest; with our identity rest orientations
    that is the bone's global rotation. Mapped back to file axes, parent⁻¹·child is the local rotation.
    root_scale: Blender metres (or BVH units) per file unit.
    """
    worst_rotation, worst_position = 0.0, 0.0
    for f in frames:
        sample = data["samples"][str(f)]
        world = {name: to_blender.T @ quaternion_to_matrix(q) @ to_blender for name, q in sample["rotations"].items()}
        for j, name in enumerate(motion.names):
            parent = motion.parents[j]
            local = world[name] if parent < 0 else world[motion.names[parent]].T @ world[name]
            worst_rotation = max(worst_rotation, angle_deg(local, motion.local_rotations[f, j]))
        root = to_blender.T @ np.asarray(sample["root_head"]) / root_scale
        worst_position = max(worst_position, float(np.abs(root - motion.root_positions[f]).max()))
    return worst_rotation, worst_position
