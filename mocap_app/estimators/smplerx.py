"""SMPLer-X as an `Estimator`: person boxes → crops → backend → SMPL-X parameters in the image's own camera.

Pre- and post-processing follow the official demo (`main/inference.py`): crop as in `estimators.crop`, RGB in
[0, 1] without mean/std normalisation; 6D rotations → axis-angle and camera parameters → translation as the
official model does (`models.layout.decode_outputs`: numpy, fp32, whatever the backend and its precision — so
this module never imports torch itself; only the torch backend does).

The network's translation lives in a virtual camera per crop: focal 5000 px on the 192x256 body input, i.e.
`5000 / 192 · box_w` image pixels, principal point at the crop-box centre. We re-express it in the image's camera
(intrinsics given, or a 60° field of view assumed): the depth is scaled so the person keeps its apparent size
(t_z' = t_z · f / f_virtual) and x, y are chosen so the SMPL-X origin projects to the same image pixel. The rotation
is left as predicted (the two cameras' axes are parallel), as the official demo and 4DHumans do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap_app.backends.base import BackendInfo, InferenceBackend
from mocap_app.backends.registry import load_backend
from mocap_app.core.errors import ConfigError
from mocap_app.core.frames import CameraIntrinsics, Detection, Frame, _frozen_array
from mocap_app.core.params import SmplxParams
from mocap_app.models.layout import (
    BODY_HM_SHAPE,
    FOCAL,
    INPUT_BODY_HW,
    INPUT_IMG_HW,
    PRINCIPAL_POINT,
    decode_outputs,
)

from .crop import BOX_ENLARGEMENT, crop_image, process_box

DEFAULT_FOV_DEG = 60.0


@dataclass(frozen=True)
class SmplerxResult:
    """Everything SMPLer-X says about one person besides the SMPL-X parameters.

    params: the SMPL-X record (translation in the image's camera).
    crop_box: (4,) float32 x, y, w, h in image pixels — the processed box the crop was cut from.
    lhand_box, rhand_box, face_box: (4,) float32 xyxy in image pixels (the boxes the network cropped hands from,
        already enlarged 2x (hands) / 1.5x (face) about their centres, as the network made them).
    joints_2d: (65, 2) float32 image pixels — 25 body, 20 left-hand, 20 right-hand heat-map joints (SPEC §9.1).
    virtual_camera: the crop's virtual intrinsics of the official demo (focal 5000/192·w, centre of the crop box).
    transl_virtual: (3,) float32 metres — the network's translation in `virtual_camera` (official `cam_trans`).
    """

    params: SmplxParams
    crop_box: np.ndarray
    lhand_box: np.ndarray
    rhand_box: np.ndarray
    face_box: np.ndarray
    joints_2d: np.ndarray
    virtual_camera: CameraIntrinsics
    transl_virtual: np.ndarray

    def __post_init__(self) -> None:
        for name, shape in (("crop_box", (4,)), ("lhand_box", (4,)), ("rhand_box", (4,)), ("face_box", (4,)),
                            ("joints_2d", (-1, 2)), ("transl_virtual", (3,))):
            object.__setattr__(self, name, _frozen_array(getattr(self, name), np.float32, shape, name))


def virtual_camera(crop_box: np.ndarray, image_width: int, image_height: int) -> CameraIntrinsics:
    """The official demo's per-crop intrinsics in image pixels: focal 5000 on the 192x256 body input, scaled."""
    x, y, w, h = (float(v) for v in crop_box)
    fx, fy = FOCAL[0] / INPUT_BODY_HW[1] * w, FOCAL[1] / INPUT_BODY_HW[0] * h
    cx, cy = PRINCIPAL_POINT[0] / INPUT_BODY_HW[1] * w + x, PRINCIPAL_POINT[1] / INPUT_BODY_HW[0] * h + y
    return CameraIntrinsics(fx, fy, cx, cy, image_width, image_height)


def translation_to_camera(transl: np.ndarray, source: CameraIntrinsics, target: CameraIntrinsics) -> np.ndarray:
    """(3,) translation in camera `source` → (3,) in `target` (same image, same axes): the point keeps its pixel
    and the body its apparent size (depth scaled by the focal ratio)."""
    tx, ty, tz = (float(v) for v in transl)
    u = source.fx * tx / tz + source.cx
    v = source.fy * ty / tz + source.cy
    depth = tz * 0.5 * (target.fx / source.fx + target.fy / source.fy)
    return np.array([(u - target.cx) * depth / target.fx, (v - target.cy) * depth / target.fy, depth])


class SmplerxEstimator:
    """SMPLer-X on any `InferenceBackend` that produces `models.smplerx.OUTPUT_NAMES`.

    intrinsics: of the frames' camera; None assumes square pixels and a `fov_deg` field of view across the
    longer side of each frame. max_batch: persons per backend call.
    hand_mean: (2, 15, 3) axis-angle mean hand pose (left, right) of the SMPL-X model file
        (`body.smplx_model.SmplxModel.hand_mean`). The official SMPL-X layer uses flat_hand_mean=False, so the
        network predicts hand rotations as offsets from that mean; adding it gives `SmplxParams`' absolute
        convention (flat hand = zeros). None leaves the offsets as they are (hands look flatter than predicted).
    """

    name = "smplerx"

    def __init__(self, backend: InferenceBackend, intrinsics: CameraIntrinsics | None = None,
                 fov_deg: float = DEFAULT_FOV_DEG, max_batch: int = 8, box_ratio: float = BOX_ENLARGEMENT,
                 hand_mean: np.ndarray | None = None) -> None:
        self.hand_mean = np.zeros((2, 15, 3), np.float32) if hand_mean is None else _frozen_array(
            hand_mean, np.float32, (2, 15, 3), "hand_mean")
        self.backend = backend
        self.intrinsics = intrinsics
        self.fov_deg = fov_deg
        self.max_batch = max(1, int(max_batch))
        self.box_ratio = box_ratio

    @classmethod
    def from_checkpoint(cls, path: Path, backend: str = "auto", device: str = "auto", precision: str = "auto",
                        engines_dir: Path | None = None, **options: object) -> SmplerxEstimator:
        """Open an official checkpoint (or an .onnx/.engine built from one) with `backend` (auto | torch |
        onnxruntime | tensorrt, `backends.registry.load_backend`: artifacts built or found in `engines_dir`).
        ModelFileError for a bad file, DependencyError (with what to install) for a backend that cannot run here.
        The backend is warmed up here, so the first frame does not pay for lazy initialisation."""
        opened = load_backend(Path(path), backend=backend, device=device, precision=precision,
                              engines_dir=engines_dir)
        opened.warmup()
        return cls(opened, **options)  # type: ignore[arg-type]

    @property
    def size(self) -> str:
        """The network size the backend runs ("s", "b", "l", "h")."""
        return self.backend.size

    def describe(self) -> BackendInfo:
        """What the backend runs: name, device, precision, input shape."""
        return self.backend.describe()

    def camera_for(self, frame: Frame) -> CameraIntrinsics:
        if self.intrinsics is None:
            return CameraIntrinsics.from_fov(frame.width, frame.height, self.fov_deg)
        if (self.intrinsics.width, self.intrinsics.height) != (frame.width, frame.height):
            raise ConfigError(
                f"The camera intrinsics are for {self.intrinsics.width}x{self.intrinsics.height} images, "
                f"but the frame is {frame.width}x{frame.height}.",
                "Give intrinsics calibrated at the capture resolution, or none to assume a field of view.")
        return self.intrinsics

    def estimate(self, frame: Frame, persons: Sequence[Detection]) -> list[SmplxParams]:
        return [result.params for result in self.estimate_detailed(frame, persons)]

    def estimate_detailed(self, frame: Frame, persons: Sequence[Detection]) -> list[SmplerxResult]:
        """Like `estimate`, with the hand/face boxes, 2-D joints and the virtual camera of each person."""
        boxes, kept = [], []
        for person in persons:
            x1, y1, x2, y2 = (float(v) for v in person.box)
            box = process_box(np.array([x1, y1, abs(x2 - x1), abs(y2 - y1)]), frame.width, frame.height,
                              self.box_ratio)
            if box is not None:
                boxes.append(box)
                kept.append(person)
        if not kept:
            return []
        camera = self.camera_for(frame)
        results: list[SmplerxResult] = []
        for start in range(0, len(kept), self.max_batch):
            chunk = boxes[start:start + self.max_batch]
            # BGR → RGB after the warp (same pixels, one small copy); [0, 1], no mean/std.
            crops = np.stack([crop_image(frame.image, box)[:, :, ::-1] for box in chunk])
            batch = np.ascontiguousarray(crops.transpose(0, 3, 1, 2)) / np.float32(255.0)
            outputs = decode_outputs(self.backend(batch))
            results += [self._result(outputs, i, box, person, frame, camera)
                        for i, (box, person) in enumerate(zip(chunk, kept[start:start + self.max_batch],
                                                              strict=True))]
        return results

    def _result(self, out: dict[str, np.ndarray], i: int, crop_box: np.ndarray, person: Detection, frame: Frame,
                camera: CameraIntrinsics) -> SmplerxResult:
        x, y, w, h = (float(v) for v in crop_box)
        scale = np.array([w / INPUT_IMG_HW[1], h / INPUT_IMG_HW[0]])
        offset = np.array([x, y])

        def to_image_box(box: np.ndarray) -> np.ndarray:
            return (box.reshape(2, 2) * scale + offset).reshape(4)

        cells_to_crop = np.array([INPUT_IMG_HW[1] / BODY_HM_SHAPE[2], INPUT_IMG_HW[0] / BODY_HM_SHAPE[1]])
        joints_2d = out["joint_img"][i, :, :2] * cells_to_crop * scale + offset
        virtual = virtual_camera(crop_box, frame.width, frame.height)
        transl_virtual = out["cam_trans"][i]
        params = SmplxParams(
            global_orient=out["smplx_root_pose"][i],
            body_pose=out["smplx_body_pose"][i].reshape(-1, 3),
            left_hand_pose=out["smplx_lhand_pose"][i].reshape(-1, 3) + self.hand_mean[0],
            right_hand_pose=out["smplx_rhand_pose"][i].reshape(-1, 3) + self.hand_mean[1],
            jaw_pose=out["smplx_jaw_pose"][i],
            leye_pose=np.zeros(3), reye_pose=np.zeros(3),  # the network has no eye outputs; the demo uses zeros
            betas=out["smplx_shape"][i], expression=out["smplx_expr"][i],
            transl=translation_to_camera(transl_virtual, virtual, camera),
            camera=camera, track_id=person.track_id, confidence=float(person.score), box=person.box,
            frame_index=frame.index, timestamp_ns=frame.timestamp_ns,
        )
        return SmplerxResult(params=params, crop_box=crop_box, lhand_box=to_image_box(out["lhand_bbox"][i]),
                             rhand_box=to_image_box(out["rhand_bbox"][i]), face_box=to_image_box(out["face_bbox"][i]),
                             joints_2d=joints_2d, virtual_camera=virtual, transl_virtual=transl_virtual)

    def close(self) -> None:
        self.backend.close()
