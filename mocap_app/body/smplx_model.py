"""SMPL-X from the user's licensed model files, through the `smplx` package.

Conventions (the app's, see `core.params`): 10 shape and 10 expression coefficients, full
axis-angle hand poses (no PCA), and **flat_hand_mean=True**: a hand pose of zeros is a flat open
hand, so `SmplxParams.full_pose()` holds the actual local joint rotations that exporters write.
Estimators whose networks predict hand poses relative to the model's mean hand (SMPLer-X does:
it uses flat_hand_mean=False) add `SmplxModel.hand_mean` to their hand outputs.

Files: `<paths.body_models>/smplx/SMPLX_{NEUTRAL,MALE,FEMALE}.npz`, the ".npz" release from
https://smpl-x.is.tue.mpg.de (registration required, non-commercial licence). The ".pkl" release
cannot be read here: it needs the `chumpy` package, which does not import on Python 3.11.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import smplx
import torch

from mocap_app.core.errors import BodyModelError
from mocap_app.core.mesh import BodyMesh
from mocap_app.core.params import NUM_BETAS, NUM_EXPRESSION, PARAM_FIELDS, MotionClip, SmplxParams
from mocap_app.core.skeleton import NUM_JOINTS

from .smplx_files import smplx_model_path

logger = logging.getLogger(__name__)

DOWNLOAD_URL = "https://smpl-x.is.tue.mpg.de"
NUM_VERTICES = 10475
# Arrays smplx reads from the file, with the shape each must have ("V" = vertex count, "K" >= 20
# shape + expression directions, "F" faces); other keys in the real files are ignored.
REQUIRED_KEYS: dict[str, tuple[int | str, ...]] = {
    "v_template": ("V", 3),
    "f": ("F", 3),
    "shapedirs": ("V", 3, "K"),
    "posedirs": ("V", 3, 9 * (NUM_JOINTS - 1)),
    "J_regressor": (NUM_JOINTS, "V"),
    "weights": ("V", NUM_JOINTS),
    "kintree_table": (2, NUM_JOINTS),
    "hands_componentsl": (45, 45),
    "hands_componentsr": (45, 45),
    "hands_meanl": (45,),
    "hands_meanr": (45,),
    "lmk_faces_idx": ("L",),
    "lmk_bary_coords": ("L", 3),
}


def _get_files_hint(path: Path) -> str:
    return (f"Download the SMPL-X model (the .npz release, 'SMPL-X v1.1 (NPZ+PKL)') from {DOWNLOAD_URL} "
            f"and put {path.name} into {path.parent}/ (or set paths.body_models). The .pkl files do not work: "
            "they need the chumpy package, which does not import on Python 3.11.")


def check_model_file(path: Path) -> int:
    """Check that `path` is a readable SMPL-X .npz with every array smplx needs; return its vertex count.

    Raises `BodyModelError` naming the file and what is wrong with it.
    """
    path = Path(path)
    if not path.is_file():
        pkl = path.with_suffix(".pkl")
        found = f" (found {pkl.name}, the .pkl release, which needs chumpy)" if pkl.is_file() else ""
        raise BodyModelError(f"SMPL-X model file {path} does not exist{found}.", _get_files_hint(path))
    sizes: dict[str, int] = {}
    try:
        # allow_pickle=False: only plain arrays are read; the real files' pickled extras are skipped.
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in REQUIRED_KEYS if key not in data.files]
            if missing:
                raise BodyModelError(f"{path} is not an SMPL-X model file: it lacks {', '.join(missing)}.",
                                     _get_files_hint(path))
            for key, wanted in REQUIRED_KEYS.items():
                shape = data[key].shape
                # Named sizes ("V", ...) must agree across arrays: the first array that has one sets it.
                ok = len(shape) == len(wanted) and all(
                    sizes.setdefault(want, size) == size if isinstance(want, str) else size == want
                    for size, want in zip(shape, wanted, strict=True))
                if not ok:
                    raise BodyModelError(f"{path}: '{key}' has shape {shape}, expected {wanted} "
                                         f"(with {sizes}); the file is damaged or of another model.",
                                         _get_files_hint(path))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise BodyModelError(f"{path} is not a readable .npz file ({exc}).", _get_files_hint(path)) from exc
    if sizes["K"] < NUM_BETAS + NUM_EXPRESSION:
        raise BodyModelError(f"{path} has {sizes['K']} shape directions; SMPL-X has at least "
                             f"{NUM_BETAS + NUM_EXPRESSION}.", _get_files_hint(path))
    return sizes["V"]


@dataclass(frozen=True)
class SmplxOutput:
    """Posed bodies for a batch of N parameter sets.

    vertices: (N, V, 3) float32, metres, camera frame (OpenCV axes; `transl` applied).
    joints: (N, 55, 3) float32, metres, same frame, smplx joint order.
    """

    vertices: np.ndarray
    joints: np.ndarray


def _stack(params: SmplxParams | Sequence[SmplxParams] | MotionClip) -> dict[str, np.ndarray]:
    """Per-field (N, ...) float32 arrays from one record, a list of records or a clip."""
    if isinstance(params, MotionClip):
        return {name: getattr(params, name) for name in PARAM_FIELDS}
    items = [params] if isinstance(params, SmplxParams) else list(params)
    if not items:
        raise ValueError("forward needs at least one SmplxParams")
    return {name: np.stack([getattr(p, name) for p in items]) for name in PARAM_FIELDS}


class SmplxModel:
    """One gender's SMPL-X model on the CPU (or a torch device), posed from `SmplxParams`.

    Thread-safe for concurrent `forward` calls (no state changes after construction).
    """

    def __init__(self, body_models: Path, gender: str = "neutral", device: str = "cpu") -> None:
        self.path = smplx_model_path(body_models, gender)
        self.gender = gender
        num_vertices = check_model_file(self.path)
        try:
            self._layer = smplx.SMPLX(
                str(self.path), ext="npz", gender=gender, num_betas=NUM_BETAS,
                num_expression_coeffs=NUM_EXPRESSION, use_pca=False, flat_hand_mean=True,
                use_face_contour=False).to(device).eval()
        except (ValueError, KeyError, IndexError, RuntimeError) as exc:
            raise BodyModelError(f"smplx could not build a model from {self.path}: {exc}.",
                                 _get_files_hint(self.path)) from exc
        self.device = torch.device(device)
        faces = np.asarray(self._layer.faces, dtype=np.int32)
        faces.flags.writeable = False
        self.faces: np.ndarray = faces
        """(F, 3) int32 vertex indices, shared by every posed mesh of this model (read-only)."""
        self.num_vertices = num_vertices
        with np.load(self.path, allow_pickle=False) as data:  # smplx zeroes its copy when flat_hand_mean
            hand_mean = np.stack([data["hands_meanl"], data["hands_meanr"]]).reshape(2, 15, 3).astype(np.float32)
        hand_mean.flags.writeable = False
        self.hand_mean: np.ndarray = hand_mean
        """(2, 15, 3) float32 axis-angle: the model's mean left and right hand poses (see module doc)."""
        logger.debug("loaded SMPL-X %s from %s (%d vertices)", gender, self.path, num_vertices)

    def forward(self, params: SmplxParams | Sequence[SmplxParams] | MotionClip) -> SmplxOutput:
        """Pose the model: vertices (N, V, 3) and joints (N, 55, 3), camera frame, metres."""
        arrays = _stack(params)
        batch = len(arrays["betas"])
        # smplx's module-level defaults have batch 1: every per-sample input is passed explicitly.
        inputs = {name: torch.from_numpy(np.array(value, np.float32)).reshape(batch, -1).to(self.device)
                  for name, value in arrays.items()}
        with torch.inference_mode():
            out = self._layer(**inputs, return_verts=True)
        return SmplxOutput(vertices=out.vertices.cpu().numpy(),
                           joints=out.joints[:, :NUM_JOINTS].cpu().numpy())

    def meshes(self, params: SmplxParams | Sequence[SmplxParams]) -> list[BodyMesh]:
        """One `BodyMesh` (with joints and track id) per record, for the renderer."""
        items = [params] if isinstance(params, SmplxParams) else list(params)
        out = self.forward(items)
        return [BodyMesh(out.vertices[i], self.faces, out.joints[i], track_id=p.track_id)
                for i, p in enumerate(items)]

    def rest_vertices(self, betas: np.ndarray | None = None) -> np.ndarray:
        """(V, 3) float32 vertices in the rest pose (T-pose) shaped by `betas` (10,) (default zeros), neutral
        face, no pose correctives: metres, smplx model coordinates; `rest_joints(betas)` is their skeleton."""
        coeffs = np.zeros((1, NUM_BETAS), np.float32)
        if betas is not None:
            coeffs[0] = np.asarray(betas, np.float32).reshape(NUM_BETAS)
        layer = self._layer
        with torch.inference_mode():
            shaped = layer.v_template + smplx.lbs.blend_shapes(torch.from_numpy(coeffs).to(self.device),
                                                               layer.shapedirs)
        return shaped[0].cpu().numpy()

    @property
    def skin_weights(self) -> np.ndarray:
        """(V, 55) float32 linear-blend-skinning weights per smplx joint (rows sum to 1)."""
        return self._layer.lbs_weights.cpu().numpy()

    @property
    def expression_directions(self) -> np.ndarray:
        """(V, 3, 10) float32 vertex offsets (metres, smplx model coordinates) per unit of each expression
        coefficient."""
        return self._layer.expr_dirs.cpu().numpy()

    @property
    def face_landmark_embedding(self) -> tuple[np.ndarray, np.ndarray]:
        """The model file's 51 static face landmarks (iBUG 68-point markup, points 17-67 in order) on the mesh:
        (51,) int64 indices into `faces` and (51, 3) float32 barycentric weights of each face's vertices."""
        return self._layer.lmk_faces_idx.cpu().numpy(), self._layer.lmk_bary_coords.cpu().numpy()

    def pose_directions(self, joint: int) -> np.ndarray:
        """(V, 3, 9) float32 pose-corrective vertex offsets (metres, smplx model coordinates) per element of
        (R − I), R the row-major 3x3 local rotation of `joint` (1..54): what smplx adds before skinning."""
        rows = self._layer.posedirs[9 * (joint - 1): 9 * joint]  # smplx: (9 * 54, V * 3)
        return rows.reshape(9, -1, 3).permute(1, 2, 0).cpu().numpy()

    def rest_joints(self, betas: np.ndarray | None = None, expression: np.ndarray | None = None) -> np.ndarray:
        """(55, 3) float32 joint positions in the rest pose (T-pose): metres, smplx model coordinates
        (y up, z forward, pelvis near the origin). `betas` (10,) and `expression` (10,) default to
        zeros; smplx regresses the joints from the shaped mesh, so expression moves head joints a little.
        `forward` poses exactly these joints (smplx rotates about the pelvis joint, then adds transl).
        """
        coeffs = np.zeros((1, NUM_BETAS + NUM_EXPRESSION), np.float32)
        if betas is not None:
            coeffs[0, :NUM_BETAS] = np.asarray(betas, np.float32).reshape(NUM_BETAS)
        if expression is not None:
            coeffs[0, NUM_BETAS:] = np.asarray(expression, np.float32).reshape(NUM_EXPRESSION)
        layer = self._layer
        with torch.inference_mode():
            directions = torch.cat([layer.shapedirs, layer.expr_dirs], dim=-1)
            shaped = layer.v_template + smplx.lbs.blend_shapes(torch.from_numpy(coeffs).to(self.device), directions)
            joints = smplx.lbs.vertices2joints(layer.J_regressor, shaped)
        return joints[0].cpu().numpy()
