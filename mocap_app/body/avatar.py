"""The free default avatar: the CC0 body model Anny, posed from `SmplxParams`.

Shown when the user has no SMPL-X files. Anny (PyPI `anny`, NAVER: Apache-2.0 code, CC0 MakeHuman
data) is built with its default 104-bone rig and the 52 ARKit-named facial blend shapes. The pose is
retargeted by `body.retarget` (rest alignment onto SMPL-X's rest skeleton, one rigid map per SMPL-X
joint); Anny only supplies the rest mesh, blend shapes and skinning weights.

Face: jaw_pose drives the blend shapes jawOpen / jawLeft / jawRight, scaled by the angle each blend
shape opens or turns the jaw (fitted from the blend shapes at load). Blend shapes rather than
MakeHuman's jaw bone: the jaw bone exists only in the 163-bone "makehuman" rig (another ~0.8 GB cache
and a slower skin), and the blend shapes move lips and teeth as designed. The eyes turn their eye
bones. SMPL-X's `expression` coefficients live in a basis of the licensed model file; no free map to
ARKit shapes exists, so they show only through an `expression_map` the caller supplies.
`betas` are not used: the avatar keeps Anny's average body.

Cache: the first build takes about a minute and writes ~0.8 GB (Anny's data) plus Warp's compiled
skinning kernel. Both go to `AvatarCache` folders (ANNY_CACHE_DIR, WARP_CACHE_PATH, default
`core.config.cache_home()`: `<repo>/.cache` in a checkout, `~/.cache/mocap` installed), shown by `doctor`.
What the avatar takes from the built model (`AnnyRig`: mesh, skin, blend shapes, bones; ~11 MB) is kept beside
them and read back without importing anny, torch or warp: a later load takes ~0.1 s instead of ~4.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from mocap_app.core.config import cache_home
from mocap_app.core.errors import BodyModelError, DependencyError, MocapError
from mocap_app.core.mesh import BodyMesh
from mocap_app.core.params import NUM_EXPRESSION, SmplxParams
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import JOINT_INDEX, JOINT_NAMES, NUM_JOINTS

from .rest_skeleton import REST_JOINTS
from .retarget import (
    ANNY_BONES_BY_JOINT,
    RestAlignment,
    align_rest_pose,
    joint_transforms,
    rotation_from_pairs,
)

logger = logging.getLogger(__name__)

ANNY_VERSION = "0.6.2"
NUM_FACIAL_ACTIONS = 52
# Anny's axes (z up, -y forward, x = subject's left) → smplx model axes (y up, z forward, same x).
ANNY_TO_SMPLX = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
# Jaw blend shape → smplx axis (x, y) of jaw_pose it follows; its weight is the jaw angle about that
# axis divided by the angle the blend shape itself turns the jaw by (signed, fitted at load).
_JAW_SHAPES = {"jawOpen": 0, "jawLeft": 1, "jawRight": 1}

RIG_FORMAT = 1  # bump when AnnyRig's fields change: older rig files are then rebuilt from Anny

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class AvatarCache:
    """Where Anny's built model data (~0.8 GB) and Warp's compiled kernels are kept."""

    anny_dir: Path
    warp_dir: Path

    @classmethod
    def resolve(cls, anny_dir: Path | None = None, warp_dir: Path | None = None) -> AvatarCache:
        """Explicit folders first, then the ANNY_CACHE_DIR / WARP_CACHE_PATH environment variables, then
        `anny` and `warp` in `core.config.cache_home()`."""
        default = cache_home()
        anny = anny_dir or os.environ.get("ANNY_CACHE_DIR") or default / "anny"
        warp = warp_dir or os.environ.get("WARP_CACHE_PATH") or default / "warp"
        return cls(anny_dir=Path(anny).resolve(), warp_dir=Path(warp).resolve())

    @property
    def rig_path(self) -> Path:
        """The `AnnyRig` file of the installed anny version."""
        return self.anny_dir / f"mocap-rig-anny{_installed_anny_version()}-v{RIG_FORMAT}.npz"


def _installed_anny_version() -> str:
    try:
        return importlib.metadata.version("anny")
    except importlib.metadata.PackageNotFoundError:
        return "missing"


@dataclass(frozen=True)
class AnnyRig:
    """What the avatar uses of Anny's built model (default rig, all facial actions), in Anny's axes (z up).

    bone_labels: B names, parents first; bone_parents: (B,) each bone's parent index (-1: the root).
    facial_action_labels: the 52 ARKit names, in `rest_shapes` order.
    vertex_bone_indices, vertex_bone_weights: (V, K) int64 / float32, the K bones skinning each vertex.
    rest_shapes: (53, V, 3) float32 metres: the neutral rest mesh, then each facial action alone at full weight.
    rest_heads: (B, 3) float32 metres, each bone's head in the rest pose.
    faces: (F, 3) int32 triangles.
    """

    bone_labels: tuple[str, ...]
    bone_parents: tuple[int, ...]
    facial_action_labels: tuple[str, ...]
    vertex_bone_indices: np.ndarray
    vertex_bone_weights: np.ndarray
    rest_shapes: np.ndarray
    rest_heads: np.ndarray
    faces: np.ndarray

    @classmethod
    def from_model(cls, model: Any, torch: Any) -> AnnyRig:
        """Read from an `anny.Anny` module (or one answering like it)."""
        with torch.inference_mode():
            # One batch: the neutral body, then each facial action alone at full weight.
            actions = torch.cat([torch.zeros(1, NUM_FACIAL_ACTIONS), torch.eye(NUM_FACIAL_ACTIONS)]).to(model.dtype)
            out = model(facial_actions=actions)
        return cls(
            bone_labels=tuple(model.bone_labels), bone_parents=tuple(int(p) for p in model.bone_parents),
            facial_action_labels=tuple(model.facial_action_labels),
            vertex_bone_indices=model.vertex_bone_indices.numpy().astype(np.int64),
            vertex_bone_weights=model.vertex_bone_weights.numpy().astype(np.float32),
            rest_shapes=out["rest_vertices"].numpy().astype(np.float32),
            rest_heads=out["rest_bone_heads"][0].numpy().astype(np.float32),
            faces=model.get_triangular_faces().numpy().astype(np.int32))

    def save(self, path: Path) -> None:
        """Written whole or not at all (a temporary file renamed into place)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        with open(partial, "wb") as file:
            np.savez(file, **{f.name: np.asarray(getattr(self, f.name)) for f in fields(self)})
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> AnnyRig:
        with np.load(path, allow_pickle=False) as data:
            values = {f.name: data[f.name] for f in fields(cls)}
        for name in ("bone_labels", "facial_action_labels"):
            values[name] = tuple(str(v) for v in values[name])
        values["bone_parents"] = tuple(int(v) for v in values["bone_parents"])
        return cls(**values)


def _import_anny(cache: AvatarCache) -> Any:
    """Import anny (and warp) with their caches pointed at `cache`; both read them at import/init."""
    already = "anny" in sys.modules
    os.environ["ANNY_CACHE_DIR"] = str(cache.anny_dir)
    os.environ["WARP_CACHE_PATH"] = str(cache.warp_dir)
    try:
        import warp

        # Quiet warp's start-up banner (stdout); its kernel cache is fixed when it initialises.
        warp.config.log_level = warp.LOG_WARNING
        warp.config.kernel_cache_dir = str(cache.warp_dir)
        import anny
    except ImportError as exc:
        raise DependencyError(f"The default avatar needs the 'anny' package ({exc}).",
                              f"Install it into the app's environment: pip install anny=={ANNY_VERSION}") from exc
    anny.paths.set_anny_cache_path(cache.anny_dir)
    if already:
        logger.debug("anny was imported before; its cache is now %s", cache.anny_dir)
    return anny


def _read_only_view(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class _ProgressHandler(logging.Handler):
    """Forwards anny's build log lines (INFO) to the caller's progress callback."""

    def __init__(self, progress: ProgressCallback) -> None:
        super().__init__(logging.INFO)
        self._progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        self._progress(f"anny: {record.getMessage()}")


def _place_jaw(avatar_joints: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The avatar's jaw joint (it has no jaw bone): SMPL-X's head → jaw offset, turned from SMPL-X's head
    frame (head → eyes) into the avatar's and scaled by head size, so exporters get a jaw where SMPL-X
    has one."""
    head, jaw = JOINT_INDEX["head"], JOINT_INDEX["jaw"]
    left, right = JOINT_INDEX["left_eye_smplhf"], JOINT_INDEX["right_eye_smplhf"]
    avatar_up = avatar_joints[[left, right]].mean(0) - avatar_joints[head]
    target_up = target[[left, right]].mean(0) - target[head]
    turn = rotation_from_pairs(target_up, target[left] - target[right],
                               avatar_up, avatar_joints[left] - avatar_joints[right])
    scale = np.linalg.norm(avatar_up) / np.linalg.norm(target_up)
    return avatar_joints[head] + scale * (turn @ (target[jaw] - target[head]))


def _axis_angle_about(before: np.ndarray, after: np.ndarray, axis: int) -> float:
    """Angle (radians, right-handed about smplx `axis`) of the rotation about that axis through the
    origin that best moves `before` (K, 3) to `after` (K, 3)."""
    u, v = [(axis + 1) % 3, (axis + 2) % 3]
    cross = before[:, u] * after[:, v] - before[:, v] * after[:, u]
    dot = before[:, u] * after[:, u] + before[:, v] * after[:, v]
    return float(np.arctan2(cross.sum(), dot.sum()))


@dataclass(frozen=True)
class AvatarOutput:
    """Posed avatars for a batch of N parameter sets.

    vertices: (N, V, 3) float32, metres — where smplx would put its vertices: global_orient turns the
        body about its pelvis, `transl` is added (the camera frame for estimated parameters).
    joints: (N, 55, 3) float32, metres, same frame — the avatar's own joints, smplx joint order.
    facial_actions: (N, 52) float32 in [0, 1] — ARKit blend shape weights (`AnnyAvatar.facial_action_labels`).
    """

    vertices: np.ndarray
    joints: np.ndarray
    facial_actions: np.ndarray


class _Built:
    """Everything `AnnyAvatar` derives from Anny's rig (read-only after construction)."""

    def __init__(self, rig: AnnyRig, target_rest: np.ndarray) -> None:
        self.rig = rig
        labels = list(rig.bone_labels)
        mapped = {bone: JOINT_INDEX[joint] for joint, bones in ANNY_BONES_BY_JOINT.items() for bone in bones}
        if set(labels) != set(mapped):
            raise BodyModelError(
                f"Anny's rig has bones {sorted(set(labels) ^ set(mapped))} that the retargeting map does not "
                "expect: another anny version?", f"Install the tested version: pip install anny=={ANNY_VERSION}")
        self.bone_joint = np.array([mapped[bone] for bone in labels])
        self.facial_action_labels: tuple[str, ...] = rig.facial_action_labels
        # Linear blend skinning as one sparse (V, bones) matmul (scipy: single-threaded, GIL released, 0.7 ms a
        # pose): anny's own (warp) builds its kernel in Python on every call and holds the GIL ~1 ms a pose, and a
        # dense torch matmul's worker threads spin on the cores the live estimator needs.
        import scipy.sparse

        indices = rig.vertex_bone_indices
        self.skin_weights = scipy.sparse.csr_matrix(
            (rig.vertex_bone_weights.ravel(), (np.repeat(np.arange(len(indices)), indices.shape[1]), indices.ravel())),
            shape=(len(indices), len(labels)))

        rest = rig.rest_shapes.astype(np.float64)
        self.rest_vertices = rest[0]
        self.facial_directions = rest[1:] - rest[:1]  # (52, V, 3), Anny axes
        self.rest_heads = rig.rest_heads.astype(np.float64)  # Anny axes
        self.bone_parents = list(rig.bone_parents)
        if any(p >= b for b, p in enumerate(self.bone_parents[1:], start=1)):
            raise BodyModelError("Anny's bones are not listed parents first.",
                                 f"Install the tested version: pip install anny=={ANNY_VERSION}")
        self.parent_of = np.array(self.bone_parents)
        depth = np.zeros(len(labels), int)
        for bone, parent in enumerate(self.bone_parents[1:], start=1):
            depth[bone] = depth[parent] + 1
        # The bones below the root one tree level at a time: a bone's translation needs its parent's.
        self.bone_levels = [np.flatnonzero(depth == level) for level in range(1, depth.max() + 1)]
        heads = self.rest_heads @ ANNY_TO_SMPLX.T
        faces = np.array(rig.faces, dtype=np.int32)
        faces.flags.writeable = False
        self.faces = faces

        smplx_rest = self.rest_vertices @ ANNY_TO_SMPLX.T
        avatar_joints = np.empty((NUM_JOINTS, 3))
        for joint, bones in ANNY_BONES_BY_JOINT.items():
            if bones:
                avatar_joints[JOINT_INDEX[joint]] = heads[labels.index(bones[0])]
        for side, s in (("left", "L"), ("right", "R")):
            # SMPL-X's foot joint is the ball of the foot: the middle of the five toe bases.
            toes = [labels.index(f"toe{t}-1.{s}") for t in range(1, 6)]
            avatar_joints[JOINT_INDEX[f"{side}_foot"]] = heads[toes].mean(0)
        avatar_joints[JOINT_INDEX["jaw"]] = _place_jaw(avatar_joints, target_rest)
        self.jaw_angles = self._fit_jaw(smplx_rest, avatar_joints[JOINT_INDEX["jaw"]])

        leaves = {}
        weights = rig.vertex_bone_weights
        dominant = indices[np.arange(len(indices)), weights.argmax(1)]
        for j, name in enumerate(JOINT_NAMES):
            if name[-1] == "3" and name.split("_")[0] in ("left", "right"):
                # Last phalanx: towards the vertex of its skin farthest from the joint (the fingertip).
                skin = smplx_rest[dominant == labels.index(ANNY_BONES_BY_JOINT[name][0])]
                tip = skin[np.linalg.norm(skin - avatar_joints[j], axis=1).argmax()]
                leaves[j] = tip - avatar_joints[j]
        self.alignment: RestAlignment = align_rest_pose(avatar_joints, target_rest, leaves)

    def _fit_jaw(self, smplx_rest: np.ndarray, jaw: np.ndarray) -> dict[str, float]:
        """Signed angle by which each jaw blend shape turns the jaw about the avatar's jaw joint."""
        angles: dict[str, float] = {}
        for shape, axis in _JAW_SHAPES.items():
            direction = self.facial_directions[self.facial_action_labels.index(shape)] @ ANNY_TO_SMPLX.T
            moved = np.linalg.norm(direction, axis=1)
            chin = moved > 0.5 * moved.max()  # the part of the jaw that moves most, nearly rigidly
            before = smplx_rest[chin] - jaw
            angle = _axis_angle_about(before, before + direction[chin], axis)
            if abs(angle) < 1e-2:
                raise BodyModelError(f"Anny's '{shape}' blend shape does not turn the jaw.",
                                     f"Install the tested version: pip install anny=={ANNY_VERSION}")
            angles[shape] = angle
        return angles


class AnnyAvatar:
    """The default avatar, built lazily on first use (`load`) and then posed from `SmplxParams`.

    Args:
        cache: where Anny's build and Warp's kernels are cached (default `AvatarCache.resolve()`).
        target_rest: (55, 3) SMPL-X rest skeleton to align with (metres, smplx model axes); its pelvis
            is where the avatar's pelvis sits before global_orient and transl.
        expression_map: (52, 10) linear map from SMPL-X expression coefficients to ARKit blend shape
            weights (added to the jaw's), or None to leave expression unshown (see module doc).
        progress: called with human-readable lines while the model loads or builds.

    `forward` is safe to call from several threads once loaded.
    """

    def __init__(self, cache: AvatarCache | None = None, target_rest: np.ndarray = REST_JOINTS,
                 expression_map: np.ndarray | None = None, progress: ProgressCallback | None = None) -> None:
        self.cache = cache or AvatarCache.resolve()
        self.target_rest = np.array(target_rest, dtype=np.float64).reshape(NUM_JOINTS, 3)
        if expression_map is not None:
            expression_map = np.array(expression_map, dtype=np.float64)
            if expression_map.shape != (NUM_FACIAL_ACTIONS, NUM_EXPRESSION):
                raise ValueError(f"expression_map must have shape {(NUM_FACIAL_ACTIONS, NUM_EXPRESSION)}, "
                                 f"got {expression_map.shape}")
        self.expression_map = expression_map
        self._progress = progress or (lambda line: logger.info("%s", line))
        self._built: _Built | None = None
        self._lock = threading.Lock()

    @property
    def is_loaded(self) -> bool:
        return self._built is not None

    def load(self) -> AnnyAvatar:
        """Load (~0.1 s, from the rig file of an earlier build) or build (first run: about a minute, ~0.8 GB cache)
        the model."""
        with self._lock:
            if self._built is None:
                self._built = self._build()
        return self

    def _build(self) -> _Built:
        started = time.perf_counter()
        rig = self._cached_rig()
        if rig is None:
            self._progress(f"Building the default avatar (Anny), once: about a minute and ~0.8 GB in "
                           f"{self.cache.anny_dir}")
            import torch

            rig = AnnyRig.from_model(self.anny_model(), torch)
            try:
                rig.save(self.cache.rig_path)
            except OSError as exc:  # the next start builds it again; this one goes on
                logger.warning("could not keep the default avatar's rig in %s: %s", self.cache.rig_path, exc)
        built = _Built(rig, self.target_rest)
        self._progress(f"Default avatar ready ({time.perf_counter() - started:.1f} s).")
        return built

    def _cached_rig(self) -> AnnyRig | None:
        path = self.cache.rig_path
        if not path.is_file():
            return None
        try:
            return AnnyRig.load(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # unreadable: built again from Anny
            logger.warning("the default avatar's rig %s is unreadable (%s): building it again", path, exc)
            return None

    def anny_model(self) -> Any:
        """Anny's own model (`anny.Anny`, default rig, all facial actions, float32): built on the first call in
        the cache (about a minute, ~0.8 GB), else loaded from it (a few seconds). Posing goes through the rig;
        this is for reading more of Anny than the rig holds (phenotypes, its own skinning)."""
        anny = _import_anny(self.cache)
        import torch

        handler = _ProgressHandler(self._progress)
        anny_logger = logging.getLogger("anny")
        previous_level, previous_propagate = anny_logger.level, anny_logger.propagate
        anny_logger.addHandler(handler)
        anny_logger.setLevel(logging.INFO)
        anny_logger.propagate = False  # its lines reach the user once, through `progress`
        try:
            return anny.Anny(rig="anny", facial_actions="all").to(torch.float32).eval()
        except OSError as exc:
            raise BodyModelError(f"Could not build the default avatar in {self.cache.anny_dir}: {exc}.",
                                 "It needs ~0.8 GB of free space there; set ANNY_CACHE_DIR to another "
                                 "folder.") from exc
        finally:
            anny_logger.removeHandler(handler)
            anny_logger.setLevel(previous_level)
            anny_logger.propagate = previous_propagate

    def _require(self) -> _Built:
        return self._built if self._built is not None else self.load()._built  # type: ignore[return-value]

    def with_expression_map(self, expression_map: np.ndarray | None) -> AnnyAvatar:
        """A copy with another `expression_map`, sharing this avatar's loaded model."""
        other = AnnyAvatar(self.cache, self.target_rest, expression_map, self._progress)
        other._built = self._built
        return other

    @property
    def rig(self) -> AnnyRig:
        """What the avatar uses of Anny (bone labels, skinning weights, rest shapes); loads it if needed."""
        return self._require().rig

    @property
    def faces(self) -> np.ndarray:
        """(F, 3) int32 triangle vertex indices, shared by every posed mesh (read-only)."""
        return self._require().faces

    @property
    def facial_action_labels(self) -> tuple[str, ...]:
        """The 52 ARKit blend shape names, in the order of `AvatarOutput.facial_actions`."""
        return self._require().facial_action_labels

    @property
    def alignment(self) -> RestAlignment:
        return self._require().alignment

    @property
    def rest_vertices(self) -> np.ndarray:
        """(V, 3) float64 Anny's rest mesh (its own A-pose), metres, Anny axes: what `bone_transforms` maps."""
        return _read_only_view(self._require().rest_vertices)

    @property
    def facial_directions(self) -> np.ndarray:
        """(52, V, 3) float64 vertex offsets of each facial blend shape at full weight, Anny axes (rest mesh)."""
        return _read_only_view(self._require().facial_directions)

    @property
    def bone_joints(self) -> np.ndarray:
        """(B,) smplx joint index that drives each of Anny's bones (`rig.bone_labels` order)."""
        return _read_only_view(self._require().bone_joint)

    def rest_joints(self) -> np.ndarray:
        """(55, 3) float32: the avatar's joints in SMPL-X's rest pose (T-pose), metres, smplx model axes,
        pelvis on the target skeleton's; `forward_kinematics` of these with a frame's rotations gives
        `forward(...).joints` (exporters' rest offsets)."""
        return self._require().alignment.tpose_joints.astype(np.float32)

    def facial_actions(self, jaw_pose: np.ndarray, expression: np.ndarray,
                       face_weights: np.ndarray | None = None) -> np.ndarray:
        """(N, 52) ARKit weights in [0, 1] from (N, 3) jaw_pose (axis-angle) and (N, 10) expression, and the
        records' own (N, 52) `face_weights` (ARKit order, the avatar's too) where higher: a face reader and the
        jaw may both open the mouth, and it opens once."""
        built = self._require()
        jaw_pose = np.asarray(jaw_pose, dtype=np.float64).reshape(-1, 3)
        weights = np.zeros((len(jaw_pose), NUM_FACIAL_ACTIONS))
        for shape, axis in _JAW_SHAPES.items():
            weights[:, built.facial_action_labels.index(shape)] = jaw_pose[:, axis] / built.jaw_angles[shape]
        if self.expression_map is not None:
            weights += np.asarray(expression, dtype=np.float64).reshape(-1, NUM_EXPRESSION) @ self.expression_map.T
        if face_weights is not None:
            weights = np.maximum(weights, np.asarray(face_weights, np.float64).reshape(len(weights), -1))
        return np.clip(weights, 0.0, 1.0)

    def bone_transforms(self, params: Sequence[SmplxParams]) -> tuple[np.ndarray, np.ndarray]:
        """Skinning maps for Anny's bones: (N, B, 4, 4) float64 from Anny rest coordinates to posed
        coordinates (smplx/camera frame), and the avatar's posed joints (N, 55, 3) float64.

        Each bone turns with its SMPL-X joint (`ANNY_BONES_BY_JOINT`) about its own head, which its
        parent bone carries (Anny's kinematic tree): bones of one joint that hang side by side (the five
        toes) each bend at their own base.
        """
        built = self._require()
        local = axis_angle_to_matrix(np.stack([p.full_pose() for p in params]))
        transl = np.stack([p.transl for p in params])
        posed = joint_transforms(built.alignment, local, transl)
        rotations = posed.rotations[:, built.bone_joint] @ ANNY_TO_SMPLX
        translations = np.empty((len(params), len(built.bone_joint), 3))
        translations[:, 0] = posed.translations[:, built.bone_joint[0]]
        head_moves = np.einsum("nbij,bj->nbi", rotations, built.rest_heads)
        carried = np.einsum("nbij,bj->nbi", rotations[:, built.parent_of], built.rest_heads)
        for bones in built.bone_levels:  # T_bone(h_bone) = T_parent(h_bone), ~20 levels instead of ~160 bones
            translations[:, bones] = carried[:, bones] + translations[:, built.parent_of[bones]] - head_moves[:, bones]
        transforms = np.zeros((len(params), len(built.bone_joint), 4, 4))
        transforms[..., :3, :3] = rotations
        transforms[..., :3, 3] = translations
        transforms[..., 3, 3] = 1.0
        return transforms, posed.joints

    def forward(self, params: SmplxParams | Sequence[SmplxParams],
                facial_actions: np.ndarray | None = None) -> AvatarOutput:
        """Pose the avatar: vertices (N, V, 3), joints (N, 55, 3), facial weights (N, 52) — `facial_actions`
        ((N, 52) ARKit weights in [0, 1]) when given, else those of the records' jaw and expression."""
        built = self._require()
        items = [params] if isinstance(params, SmplxParams) else list(params)
        if not items:
            raise ValueError("forward needs at least one SmplxParams")
        transforms, joints = self.bone_transforms(items)
        weights = (self.facial_actions(np.stack([p.jaw_pose for p in items]), np.stack([p.expression for p in items]),
                                       np.stack([p.face_weights for p in items]))
                   if facial_actions is None else np.asarray(facial_actions, np.float64).reshape(len(items), -1))
        active = np.flatnonzero(weights.any(0))  # most frames move only the jaw shapes, if any
        rest = built.rest_vertices + np.einsum("nk,kvc->nvc", weights[:, active], built.facial_directions[active])
        count, bones = len(items), len(built.bone_joint)
        rows = transforms[:, :, :3, :].astype(np.float32).transpose(1, 0, 2, 3).reshape(bones, count * 12)
        blended = np.asarray(built.skin_weights @ rows).reshape(-1, count, 3, 4).transpose(1, 0, 2, 3)  # (N, V, 3, 4)
        rest = rest.astype(np.float32)
        vertices = (blended[..., :3] * rest[:, :, None, :]).sum(-1) + blended[..., 3]
        return AvatarOutput(vertices=vertices, joints=joints.astype(np.float32),
                            facial_actions=weights.astype(np.float32))

    def meshes(self, params: SmplxParams | Sequence[SmplxParams]) -> list[BodyMesh]:
        """One `BodyMesh` (with joints and track id) per record, for the renderer."""
        items = [params] if isinstance(params, SmplxParams) else list(params)
        out = self.forward(items)
        return [BodyMesh(out.vertices[i], self.faces, out.joints[i], track_id=p.track_id)
                for i, p in enumerate(items)]


if __name__ == "__main__":  # `python -m mocap_app.body.avatar`: build the avatar now (scripts/setup.sh does)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        AnnyAvatar(progress=print).load()
    except MocapError as exc:
        sys.exit(f"error: {exc.message}\nhint: {exc.hint}")
