"""FBX writer (binary 7.4, own code): skeleton animation with an explicit rest pose and bind pose, and
optionally a skinned mesh with animated blend shapes.

Scene graph written:
    Model "Armature" (Null) ─ Model bones (LimbNode, rest pose in their Lcl Translation/Rotation)
    Model <mesh> (Mesh) ─ Geometry (Mesh) ─ Deformer Skin ─ SubDeformer Cluster per bone (bind matrices)
                                         └ Deformer BlendShape ─ SubDeformer BlendShapeChannel ─ Geometry Shape
    Pose "BindPose" (rest-pose world matrix of every bone, the armature and the mesh)
    AnimationStack ─ AnimationLayer ─ AnimationCurveNode T/R per bone, DeformPercent per blend shape
                                       └ AnimationCurve per component (linear keys, one per frame)
A clip with foot contacts gives the armature two animated user properties (`FOOT_CONTACT_PROPERTIES`,
1 = the foot is planted), each with its curve.
Importers that miss a bind pose take the first frame as rest; the rest values here are SMPL-X's T-pose.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

import numpy as np

from mocap_app.core.files import atomic_write
from mocap_app.core.params import MotionClip

from .base import ExportOptions, check_clip, check_mesh
from .fbx_binary import (
    FbxNode,
    encode_document,
    prop_array,
    prop_bool,
    prop_bytes,
    prop_float64,
    prop_int32,
    prop_int64,
    prop_string,
)
from .mesh import SkinnedMesh
from .motion import SkeletonMotion, skeleton_motion
from .rotations import matrix_to_euler, unwrap_angles

KTIME_PER_SECOND = 46_186_158_000
# FBX TimeMode enum values of the standard rates; anything else is eCustom (14) + CustomFrameRate.
_TIME_MODES = {120.0: 1, 100.0: 2, 60.0: 3, 50.0: 4, 48.0: 5, 30.0: 6, 25.0: 10, 24.0: 11, 1000.0: 12,
               96.0: 15, 72.0: 16}
_CUSTOM_TIME_MODE = 14
# (UpAxis, UpAxisSign, FrontAxis, FrontAxisSign, CoordAxis, CoordAxisSign); right-handed, x right.
_AXIS_SETTINGS = {"y": (1, 1, 2, 1, 0, 1), "z": (2, 1, 1, -1, 0, 1)}
_LINEAR_KEYS = 0x4  # KeyAttrFlags: eInterpolationLinear
_CREATOR = "mocap_app FBX writer"
FOOT_CONTACT_PROPERTIES = ("LeftFootContact", "RightFootContact")


class _Ids:
    """Unique int64 object ids (0 is the scene root)."""

    def __init__(self) -> None:
        self._next = 1_000_000

    def __call__(self) -> int:
        self._next += 1
        return self._next


def _p(name: str, type_name: str, label: str, flags: str, *values: bytes) -> list[bytes]:
    return [prop_string(name), prop_string(type_name), prop_string(label), prop_string(flags), *values]


def _properties(node: FbxNode, rows: list[list[bytes]]) -> None:
    props = node.add("Properties70")
    for row in rows:
        props.add("P", *row)


def _vector(name: str, value: np.ndarray, animated: bool = True) -> list[bytes]:
    return _p(name, name, "", "A" if animated else "", *(prop_float64(float(v)) for v in value))


def _name(name: str, cls: str) -> bytes:
    return prop_string(f"{name}\x00\x01{cls}")


def _matrix(rotation: np.ndarray | None, translation: np.ndarray) -> np.ndarray:
    """4×4 column-vector transform, flattened the way FBX stores matrices (translation at 12..14)."""
    m = np.eye(4)
    if rotation is not None:
        m[:3, :3] = rotation
    m[:3, 3] = translation
    return m.T.ravel()


class _SceneWriter:
    def __init__(self, motion: SkeletonMotion, mesh: SkinnedMesh | None, take_name: str,
                 foot_contact: np.ndarray | None = None) -> None:
        self.motion, self.mesh, self.take_name = motion, mesh, take_name
        self.foot_contact = foot_contact  # (T, 2) per file frame, or None: animated user properties of the armature
        self.armature = 0
        self.ids = _Ids()
        self.objects = FbxNode("Objects")
        self.connections = FbxNode("Connections")
        self.counts: dict[str, int] = {}
        self.pose_nodes: list[tuple[int, np.ndarray]] = []
        self.key_times = np.rint(np.arange(motion.num_frames) * (KTIME_PER_SECOND / motion.fps)).astype(np.int64)
        self._key_time_prop = prop_array(self.key_times, "<i8")

    def _object(self, kind: str, name: str, cls: str, subclass: str) -> tuple[int, FbxNode]:
        uid = self.ids()
        self.counts[kind] = self.counts.get(kind, 0) + 1
        node = self.objects.add(kind, prop_int64(uid), _name(name, cls), prop_string(subclass))
        return uid, node

    def connect(self, child: int, parent: int, prop: str | None = None) -> None:
        if prop is None:
            self.connections.add("C", prop_string("OO"), prop_int64(child), prop_int64(parent))
        else:
            self.connections.add("C", prop_string("OP"), prop_int64(child), prop_int64(parent), prop_string(prop))

    # -- skeleton -------------------------------------------------------------------------------
    def model(self, name: str, subclass: str, translation: np.ndarray, user: tuple[str, ...] = ()) -> int:
        attr_id, attr = self._object("NodeAttribute", name, "NodeAttribute", subclass)
        if subclass == "LimbNode":
            _properties(attr, [_p("Size", "double", "Number", "", prop_float64(100.0))])
        attr.add("TypeFlags", prop_string("Skeleton" if subclass == "LimbNode" else "Null"))
        uid, node = self._object("Model", name, "Model", subclass)
        node.add("Version", prop_int32(232))
        _properties(node, [
            _p("RotationActive", "bool", "", "", prop_int32(1)),
            _p("InheritType", "enum", "", "", prop_int32(1)),
            _p("DefaultAttributeIndex", "int", "Integer", "", prop_int32(0)),
            _vector("Lcl Translation", translation),
            _vector("Lcl Rotation", np.zeros(3)),
            _vector("Lcl Scaling", np.ones(3)),
            *(_p(prop, "Number", "", "A+U", prop_float64(0.0)) for prop in user),
        ])
        node.add("MultiLayer", prop_int32(0))
        node.add("MultiTake", prop_int32(0))
        node.add("Shading", prop_bool(True))
        node.add("Culling", prop_string("CullingOff"))
        self.connect(attr_id, uid)
        return uid

    def skeleton(self) -> list[int]:
        motion = self.motion
        armature = self.model("Armature", "Null", np.zeros(3),
                              user=FOOT_CONTACT_PROPERTIES if self.foot_contact is not None else ())
        self.armature = armature
        self.connect(armature, 0)
        self.pose_nodes.append((armature, _matrix(None, np.zeros(3))))
        bone_ids: list[int] = []
        for j, parent in enumerate(motion.parents):
            uid = self.model(motion.names[j], "LimbNode", motion.offsets[j])
            self.connect(uid, armature if parent < 0 else bone_ids[parent])
            self.pose_nodes.append((uid, _matrix(None, motion.rest_positions[j])))
            bone_ids.append(uid)
        return bone_ids

    # -- mesh -----------------------------------------------------------------------------------
    def skinned_mesh(self, bone_ids: list[int]) -> list[int]:
        """Mesh model, geometry, skin clusters and blend shapes; returns the blend-shape channel ids."""
        mesh, motion = self.mesh, self.motion
        assert mesh is not None
        geometry_id, geometry = self._object("Geometry", mesh.name, "Geometry", "Mesh")
        _properties(geometry, [])
        geometry.add("GeometryVersion", prop_int32(124))
        geometry.add("Vertices", prop_array(motion.to_file_space(mesh.vertices), "<f8"))
        polygon_indices = mesh.faces.astype(np.int32, copy=True)
        polygon_indices[:, 2] = -polygon_indices[:, 2] - 1  # a negative index closes each polygon
        geometry.add("PolygonVertexIndex", prop_array(polygon_indices, "<i4"))
        material_layer = geometry.add("LayerElementMaterial", prop_int32(0))
        material_layer.add("Version", prop_int32(101))
        material_layer.add("Name", prop_string(""))
        material_layer.add("MappingInformationType", prop_string("AllSame"))
        material_layer.add("ReferenceInformationType", prop_string("IndexToDirect"))
        material_layer.add("Materials", prop_array(np.zeros(1), "<i4"))
        layer = geometry.add("Layer", prop_int32(0))
        layer.add("Version", prop_int32(100))
        element = layer.add("LayerElement")
        element.add("Type", prop_string("LayerElementMaterial"))
        element.add("TypedIndex", prop_int32(0))

        mesh_id, model = self._object("Model", mesh.name, "Model", "Mesh")
        model.add("Version", prop_int32(232))
        _properties(model, [_p("DefaultAttributeIndex", "int", "Integer", "", prop_int32(0))])
        model.add("Shading", prop_bool(True))
        model.add("Culling", prop_string("CullingOff"))
        self.connect(mesh_id, 0)
        self.connect(geometry_id, mesh_id)
        self.pose_nodes.append((mesh_id, _matrix(None, np.zeros(3))))

        material_id, material = self._object("Material", "Default", "Material", "")
        material.add("Version", prop_int32(102))
        material.add("ShadingModel", prop_string("lambert"))
        material.add("MultiLayer", prop_int32(0))
        _properties(material, [_p("DiffuseColor", "Color", "", "A", *(prop_float64(0.8) for _ in range(3)))])
        self.connect(material_id, mesh_id)

        skin_id, skin = self._object("Deformer", mesh.name, "Deformer", "Skin")
        skin.add("Version", prop_int32(101))
        skin.add("Link_DeformAcuracy", prop_float64(50.0))
        self.connect(skin_id, geometry_id)
        weights = mesh.merged_weights(motion.joints)
        for j, bone_id in enumerate(bone_ids):
            vertices = np.flatnonzero(weights[:, j] > 0.0)
            if len(vertices) == 0:
                continue
            cluster_id, cluster = self._object("Deformer", motion.names[j], "SubDeformer", "Cluster")
            cluster.add("Version", prop_int32(100))
            cluster.add("UserData", prop_string(""), prop_string(""))
            cluster.add("Indexes", prop_array(vertices, "<i4"))
            cluster.add("Weights", prop_array(weights[vertices, j], "<f8"))
            # Transform: mesh space → bone space at bind time; TransformLink: the bone's bind matrix.
            cluster.add("Transform", prop_array(_matrix(None, -motion.rest_positions[j]), "<f8"))
            cluster.add("TransformLink", prop_array(_matrix(None, motion.rest_positions[j]), "<f8"))
            self.connect(cluster_id, skin_id)
            self.connect(bone_id, cluster_id)

        channel_ids: list[int] = []
        if mesh.num_blend_shapes == 0:
            return channel_ids
        blend_id, blend = self._object("Deformer", mesh.name, "Deformer", "BlendShape")
        blend.add("Version", prop_int32(100))
        self.connect(blend_id, geometry_id)
        for k, shape_name in enumerate(mesh.blend_shape_names):
            channel_id, channel = self._object("Deformer", shape_name, "SubDeformer", "BlendShapeChannel")
            channel.add("Version", prop_int32(100))
            channel.add("DeformPercent", prop_float64(0.0))
            channel.add("FullWeights", prop_array(np.array([100.0]), "<f8"))
            _properties(channel, [_p("DeformPercent", "Number", "", "A", prop_float64(0.0))])
            deltas = motion.to_file_space(mesh.blend_shape_deltas[k])
            moved = np.flatnonzero(np.any(deltas != 0.0, axis=1))
            if len(moved) == 0:
                moved = np.array([0])  # readers reject empty shapes; one zero offset changes nothing
            shape_id, shape = self._object("Geometry", shape_name, "Geometry", "Shape")
            shape.add("Version", prop_int32(100))
            shape.add("Indexes", prop_array(moved, "<i4"))
            shape.add("Vertices", prop_array(deltas[moved], "<f8"))
            self.connect(channel_id, blend_id)
            self.connect(shape_id, channel_id)
            channel_ids.append(channel_id)
        return channel_ids

    def bind_pose(self) -> None:
        _pose_id, pose = self._object("Pose", "BindPose", "Pose", "BindPose")
        pose.add("Type", prop_string("BindPose"))
        pose.add("Version", prop_int32(100))
        pose.add("NbPoseNodes", prop_int32(len(self.pose_nodes)))
        for node_id, matrix in self.pose_nodes:
            entry = pose.add("PoseNode")
            entry.add("Node", prop_int64(node_id))
            entry.add("Matrix", prop_array(matrix, "<f8"))

    # -- animation ------------------------------------------------------------------------------
    def curve_node(self, layer_id: int, target: int, target_prop: str, node_name: str,
                   channels: list[tuple[str, np.ndarray]]) -> None:
        uid, node = self._object("AnimationCurveNode", node_name, "AnimCurveNode", "")
        _properties(node, [_p(f"d|{c}", "Number", "", "A", prop_float64(float(v[0]))) for c, v in channels])
        self.connect(uid, layer_id)
        self.connect(uid, target, target_prop)
        for channel, values in channels:
            curve_id, curve = self._object("AnimationCurve", "", "AnimCurve", "")
            curve.add("Default", prop_float64(float(values[0])))
            curve.add("KeyVer", prop_int32(4009))
            curve.add("KeyTime", self._key_time_prop)
            curve.add("KeyValueFloat", prop_array(values, "<f4"))
            curve.add("KeyAttrFlags", prop_array(np.array([_LINEAR_KEYS]), "<i4"))
            curve.add("KeyAttrDataFloat", prop_array(np.zeros(4), "<f4"))
            curve.add("KeyAttrRefCount", prop_array(np.array([len(values)]), "<i4"))
            self.connect(curve_id, uid, f"d|{channel}")

    def animation(self, bone_ids: list[int], channel_ids: list[int]) -> None:
        motion = self.motion
        stop = int(self.key_times[-1])
        stack_id, stack = self._object("AnimationStack", self.take_name, "AnimStack", "")
        _properties(stack, [_p(name, "KTime", "Time", "", prop_int64(value)) for name, value in (
            ("LocalStart", 0), ("LocalStop", stop), ("ReferenceStart", 0), ("ReferenceStop", stop))])
        layer_id, layer = self._object("AnimationLayer", "BaseLayer", "AnimLayer", "")
        _properties(layer, [])  # assimp needs the layer to have a (possibly empty) scope
        self.connect(layer_id, stack_id)
        # FBX "XYZ" Euler order: R = Rz · Ry · Rx (x applied first) — matrix order "ZYX" here.
        angles = np.degrees(unwrap_angles(matrix_to_euler(motion.local_rotations, "ZYX")))[..., ::-1]
        for j, bone_id in enumerate(bone_ids):
            if motion.parents[j] < 0:
                self.curve_node(layer_id, bone_id, "Lcl Translation", "T",
                                [(axis, motion.root_positions[:, a]) for a, axis in enumerate("XYZ")])
            self.curve_node(layer_id, bone_id, "Lcl Rotation", "R",
                            [(axis, angles[:, j, a]) for a, axis in enumerate("XYZ")])
        if self.foot_contact is not None:
            for f, prop in enumerate(FOOT_CONTACT_PROPERTIES):
                self.curve_node(layer_id, self.armature, prop, prop, [(prop, self.foot_contact[:, f])])
        if channel_ids:
            assert self.mesh is not None
            percent = 100.0 * self.mesh.blend_shape_weights.astype(np.float64)
            for k, channel_id in enumerate(channel_ids):
                self.curve_node(layer_id, channel_id, "DeformPercent", "DeformPercent",
                                [("DeformPercent", percent[:, k])])

    # -- document -------------------------------------------------------------------------------
    def document(self, axis_settings: tuple[int, ...], unit_scale: float) -> list[FbxNode]:
        bone_ids = self.skeleton()
        channel_ids = self.skinned_mesh(bone_ids) if self.mesh is not None else []
        self.bind_pose()
        self.animation(bone_ids, channel_ids)
        return [self._header(), *self._file_id(), self._global_settings(axis_settings, unit_scale),
                self._documents(), FbxNode("References"), self._definitions(), self.objects,
                self.connections, self._takes()]

    def _header(self) -> FbxNode:
        now = time.localtime()
        header = FbxNode("FBXHeaderExtension")
        header.add("FBXHeaderVersion", prop_int32(1003))
        header.add("FBXVersion", prop_int32(7400))
        stamp = header.add("CreationTimeStamp")
        for key, value in (("Version", 1000), ("Year", now.tm_year), ("Month", now.tm_mon), ("Day", now.tm_mday),
                           ("Hour", now.tm_hour), ("Minute", now.tm_min), ("Second", now.tm_sec),
                           ("Millisecond", 0)):
            stamp.add(key, prop_int32(value))
        header.add("Creator", prop_string(_CREATOR))
        return header

    def _file_id(self) -> list[FbxNode]:
        return [FbxNode("FileId", [prop_bytes(bytes(range(16)))]),
                FbxNode("CreationTime", [prop_string(time.strftime("%Y-%m-%d %H:%M:%S:000"))]),
                FbxNode("Creator", [prop_string(_CREATOR)])]

    def _global_settings(self, axis_settings: tuple[int, ...], unit_scale: float) -> FbxNode:
        fps = self.motion.fps
        time_mode = _TIME_MODES.get(round(fps, 6), _CUSTOM_TIME_MODE)
        up, up_sign, front, front_sign, coord, coord_sign = axis_settings
        settings = FbxNode("GlobalSettings")
        settings.add("Version", prop_int32(1000))
        ints = [("UpAxis", up), ("UpAxisSign", up_sign), ("FrontAxis", front), ("FrontAxisSign", front_sign),
                ("CoordAxis", coord), ("CoordAxisSign", coord_sign), ("OriginalUpAxis", up),
                ("OriginalUpAxisSign", up_sign)]
        _properties(settings, [
            *(_p(name, "int", "Integer", "", prop_int32(value)) for name, value in ints),
            _p("UnitScaleFactor", "double", "Number", "", prop_float64(unit_scale)),
            _p("OriginalUnitScaleFactor", "double", "Number", "", prop_float64(unit_scale)),
            _p("TimeMode", "enum", "", "", prop_int32(time_mode)),
            _p("TimeSpanStart", "KTime", "Time", "", prop_int64(0)),
            _p("TimeSpanStop", "KTime", "Time", "", prop_int64(int(self.key_times[-1]))),
            _p("CustomFrameRate", "double", "Number", "", prop_float64(fps)),
        ])
        return settings

    def _documents(self) -> FbxNode:
        documents = FbxNode("Documents")
        documents.add("Count", prop_int32(1))
        document = documents.add("Document", prop_int64(self.ids()), prop_string("Scene"), prop_string("Scene"))
        _properties(document, [_p("SourceObject", "object", "", ""),
                               _p("ActiveAnimStackName", "KString", "", "", prop_string(self.take_name))])
        document.add("RootNode", prop_int64(0))
        return documents

    def _definitions(self) -> FbxNode:
        definitions = FbxNode("Definitions")
        definitions.add("Version", prop_int32(100))
        definitions.add("Count", prop_int32(1 + sum(self.counts.values())))
        definitions.add("ObjectType", prop_string("GlobalSettings")).add("Count", prop_int32(1))
        for kind, count in self.counts.items():
            definitions.add("ObjectType", prop_string(kind)).add("Count", prop_int32(count))
        return definitions

    def _takes(self) -> FbxNode:
        takes = FbxNode("Takes")
        takes.add("Current", prop_string(self.take_name))
        take = takes.add("Take", prop_string(self.take_name))
        take.add("FileName", prop_string(f"{self.take_name}.tak"))
        stop = int(self.key_times[-1])
        take.add("LocalTime", prop_int64(0), prop_int64(stop))
        take.add("ReferenceTime", prop_int64(0), prop_int64(stop))
        return takes


class FbxExporter:
    """Writes binary FBX 7.4: skeleton animation (+ a skinned, blend-shaped mesh when one is given)."""

    format: ClassVar[str] = "fbx"
    suffix: ClassVar[str] = ".fbx"
    options: ClassVar[tuple[str, ...]] = ("root", "rest_joints", "mesh", "hands", "face", "bone_names", "units",
                                          "up_axis", "fps")

    def write(self, clip: MotionClip, path: Path, options: ExportOptions) -> Path:
        check_clip(clip)
        path = Path(path)
        mesh = options.mesh
        check_mesh(clip, mesh)
        motion = skeleton_motion(clip, options)
        writer = _SceneWriter(motion, mesh, take_name=path.stem or "Take 001", foot_contact=clip.foot_contact)
        # FBX lengths are in centimetres times UnitScaleFactor.
        unit_scale = 100.0 / motion.scale
        data = encode_document(writer.document(_AXIS_SETTINGS[options.up_axis], unit_scale))
        return atomic_write(path, lambda handle: handle.write(data))
