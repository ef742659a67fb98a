"""glTF 2.0 binary (.glb) writer: a skinned mesh, its skeleton and the animation (rotations, root
translation, morph-target weights).

glTF is always y up, metres. A skin must deform a mesh (several readers reject a skeleton without
one), so without a mesh in the options a stick figure bound to the skeleton is written.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import ClassVar

import numpy as np

from mocap_app.body.feet import SIDES
from mocap_app.core.files import atomic_write
from mocap_app.core.params import MotionClip

from .base import ExportOptions, check_clip, check_mesh
from .mesh import SkinnedMesh, stick_figure_mesh
from .motion import SkeletonMotion, kept_joints, rest_joints_of, skeleton_motion
from .rotations import continuous_quaternions, matrix_to_quaternion

_FLOAT, _UINT16, _UINT32 = 5126, 5123, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_TYPES = {1: "SCALAR", 3: "VEC3", 4: "VEC4", 16: "MAT4"}
_INFLUENCES = 4  # JOINTS_0 / WEIGHTS_0 hold four joints per vertex


class _Buffer:
    """The binary chunk, built from accessors (one buffer view each, 4-byte aligned)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.length = 0
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, component: int, width: int, target: int | None = None,
            with_bounds: bool = False) -> int:
        data = np.ascontiguousarray(array).tobytes()
        view = {"buffer": 0, "byteOffset": self.length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        self.chunks.append(data)
        self.length += len(data)
        padding = -self.length % 4
        self.chunks.append(b"\x00" * padding)
        self.length += padding
        accessor = {"bufferView": len(self.views) - 1, "componentType": component,
                    "count": int(array.size // width), "type": _TYPES[width]}
        if with_bounds:
            flat = np.asarray(array, dtype=np.float64).reshape(-1, width)
            accessor["min"] = flat.min(axis=0).tolist()
            accessor["max"] = flat.max(axis=0).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def data(self) -> bytes:
        return b"".join(self.chunks)


def _top_influences(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(V, J) weights → the 4 largest per vertex: joint indices (V, 4) uint16 and weights (V, 4) summing to 1."""
    count = min(_INFLUENCES, weights.shape[1])
    order = np.argsort(-weights, axis=1, kind="stable")[:, :count]
    top = np.take_along_axis(weights, order, axis=1)
    joints = np.zeros((len(weights), _INFLUENCES), dtype=np.uint16)
    values = np.zeros((len(weights), _INFLUENCES), dtype=np.float32)
    joints[:, :count] = order
    values[:, :count] = top / top.sum(axis=1, keepdims=True)
    values[:, :count][top == 0.0] = 0.0
    joints[values == 0.0] = 0
    return joints, values


def _document(motion: SkeletonMotion, mesh: SkinnedMesh, name: str) -> tuple[dict, bytes]:
    buffer = _Buffer()
    num_bones = motion.num_bones
    children: list[list[int]] = [[] for _ in range(num_bones)]
    for j, parent in enumerate(motion.parents):
        if parent >= 0:
            children[parent].append(j)
    nodes: list[dict] = []
    for j in range(num_bones):
        node: dict = {"name": motion.names[j], "translation": motion.offsets[j].tolist()}
        if children[j]:
            node["children"] = children[j]
        nodes.append(node)
    armature, mesh_node = num_bones, num_bones + 1
    nodes.append({"name": "Armature", "children": [0]})

    positions = motion.to_file_space(mesh.vertices).astype(np.float32)
    joints, weights = _top_influences(mesh.merged_weights(motion.joints))
    primitive: dict = {
        "attributes": {
            "POSITION": buffer.add(positions, _FLOAT, 3, _ARRAY_BUFFER, with_bounds=True),
            "JOINTS_0": buffer.add(joints, _UINT16, 4, _ARRAY_BUFFER),
            "WEIGHTS_0": buffer.add(weights, _FLOAT, 4, _ARRAY_BUFFER),
        },
        "indices": buffer.add(mesh.faces.astype(np.uint32), _UINT32, 1, _ELEMENT_ARRAY_BUFFER),
        "material": 0,
    }
    mesh_entry: dict = {"name": mesh.name, "primitives": [primitive]}
    if mesh.num_blend_shapes:
        primitive["targets"] = [
            {"POSITION": buffer.add(motion.to_file_space(deltas).astype(np.float32), _FLOAT, 3, _ARRAY_BUFFER,
                                    with_bounds=True)}
            for deltas in mesh.blend_shape_deltas]
        mesh_entry["weights"] = [0.0] * mesh.num_blend_shapes
        mesh_entry["extras"] = {"targetNames": list(mesh.blend_shape_names)}  # names Blender/three.js read
    nodes.append({"name": mesh.name, "mesh": 0, "skin": 0})

    inverse_bind = np.tile(np.eye(4, dtype=np.float32), (num_bones, 1, 1))
    inverse_bind[:, :3, 3] = -motion.rest_positions
    skin = {"name": "Armature", "joints": list(range(num_bones)), "skeleton": 0,
            "inverseBindMatrices": buffer.add(inverse_bind.transpose(0, 2, 1), _FLOAT, 16)}

    times = (np.arange(motion.num_frames) / motion.fps).astype(np.float32)
    time_accessor = buffer.add(times, _FLOAT, 1, with_bounds=True)
    samplers: list[dict] = []
    channels: list[dict] = []

    def animate(node: int, path: str, values: np.ndarray, width: int) -> None:
        samplers.append({"input": time_accessor, "interpolation": "LINEAR",
                         "output": buffer.add(values.astype(np.float32), _FLOAT, width)})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": node, "path": path}})

    animate(0, "translation", motion.root_positions, 3)
    quaternions = continuous_quaternions(matrix_to_quaternion(motion.local_rotations))
    for j in range(num_bones):
        animate(j, "rotation", quaternions[:, j], 4)
    if mesh.num_blend_shapes:
        animate(mesh_node, "weights", mesh.blend_shape_weights.reshape(-1), 1)

    document = {
        "asset": {"version": "2.0", "generator": "mocap_app glTF writer"},
        "scene": 0,
        "scenes": [{"name": name, "nodes": [armature, mesh_node]}],
        "nodes": nodes,
        "meshes": [mesh_entry],
        "materials": [{"name": "Default", "pbrMetallicRoughness": {
            "baseColorFactor": [0.8, 0.8, 0.8, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.8}}],
        "skins": [skin],
        "animations": [{"name": name, "samplers": samplers, "channels": channels}],
        "buffers": [{"byteLength": buffer.length}],
        "bufferViews": buffer.views,
        "accessors": buffer.accessors,
    }
    return document, buffer.data()


def encode_glb(document: dict, binary: bytes) -> bytes:
    """A GLB container: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
    json_bytes = json.dumps(document, separators=(",", ":")).encode("utf-8")
    json_bytes += b" " * (-len(json_bytes) % 4)
    binary += b"\x00" * (-len(binary) % 4)
    total = 12 + 8 + len(json_bytes) + 8 + len(binary)
    return b"".join([
        struct.pack("<4sII", b"glTF", 2, total),
        struct.pack("<II", len(json_bytes), 0x4E4F534A), json_bytes,
        struct.pack("<II", len(binary), 0x004E4942), binary,
    ])


class GlbExporter:
    """Writes .glb: skinned mesh (the given one, or a stick figure) + skeleton + animation."""

    format: ClassVar[str] = "glb"
    suffix: ClassVar[str] = ".glb"
    options: ClassVar[tuple[str, ...]] = ("root", "rest_joints", "mesh", "hands", "face", "bone_names", "fps")

    def write(self, clip: MotionClip, path: Path, options: ExportOptions) -> Path:
        check_clip(clip)
        path = Path(path)
        mesh = options.mesh
        if mesh is None:
            mesh = stick_figure_mesh(rest_joints_of(options), kept_joints(options))
        else:
            check_mesh(clip, mesh)
        motion = skeleton_motion(clip, options, units="m", up_axis="y")
        document, binary = _document(motion, mesh, path.stem or "Take")
        if clip.foot_contact is not None:  # per file frame, 1 = planted (glTF has no custom curves: extras)
            document["animations"][0]["extras"] = {
                f"{side}_foot_contact": clip.foot_contact[:, f].round(4).tolist() for f, side in enumerate(SIDES)}
        data = encode_glb(document, binary)
        return atomic_write(path, lambda handle: handle.write(data))
