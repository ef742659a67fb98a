from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import smplx
import torch
from scipy.spatial.transform import Rotation

from mocap_app.body.smplx_files import available_genders
from mocap_app.body.smplx_model import DOWNLOAD_URL, SmplxModel, smplx_model_path
from mocap_app.core.errors import BodyModelError
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.params import MotionClip, SmplxParams
from mocap_app.core.skeleton import JOINT_INDEX, forward_kinematics

CAMERA = CameraIntrinsics.from_fov(640, 480)
# The atol=1e-5 checks (metres, bodies ~3 m away) compare smplx's float32 torch forward with float64 numpy or with
# itself: measured at most 2.4e-7 (~1 ulp), identical over torch threads 1/2, ATEN_CPU_CAPABILITY avx512/avx2/default
# and oneDNN on/off (AMD EPYC Zen 4, torch 2.13.0). A wrong joint order or pose layout moves joints by centimetres.


def random_params(seed: int, scale: float = 0.4, track_id: int = 0) -> SmplxParams:
    rng = np.random.default_rng(seed)
    return SmplxParams(
        global_orient=rng.normal(0, scale, 3), body_pose=rng.normal(0, scale, (21, 3)),
        left_hand_pose=rng.normal(0, scale, (15, 3)), right_hand_pose=rng.normal(0, scale, (15, 3)),
        jaw_pose=rng.normal(0, 0.1, 3), leye_pose=np.zeros(3), reye_pose=np.zeros(3),
        betas=rng.normal(0, 1, 10), expression=rng.normal(0, 1, 10), transl=rng.normal(0, 0.3, 3) + np.array([0, 0, 3]),
        camera=CAMERA, track_id=track_id)


def test_forward_returns_float32_vertices_and_the_55_joints_in_camera_frame(smplx_model: SmplxModel) -> None:
    out = smplx_model.forward(SmplxParams.neutral(CAMERA))
    assert out.vertices.shape == (1, 10475, 3) and out.vertices.dtype == np.float32
    assert out.joints.shape == (1, 55, 3) and out.joints.dtype == np.float32
    np.testing.assert_allclose(out.joints[0], smplx_model.rest_joints() + np.array([0, 0, 3]), atol=1e-5)  # 9.7e-8


def test_joints_are_forward_kinematics_of_the_rest_skeleton(smplx_model: SmplxModel) -> None:
    params = random_params(1)
    joints = smplx_model.forward(params).joints[0]
    local = Rotation.from_rotvec(params.full_pose().astype(np.float64)).as_matrix()[None]
    # smplx rotates the body about its pelvis joint, then adds transl.
    _, expected = forward_kinematics(smplx_model.rest_joints(params.betas, params.expression), local,
                                     params.transl[None])
    np.testing.assert_allclose(joints, expected[0], atol=1e-5)  # measured 1.5e-7


def test_bending_the_left_elbow_moves_only_the_left_forearm(smplx_model: SmplxModel) -> None:
    rest = SmplxParams.neutral(CAMERA)
    body_pose = np.zeros((21, 3))
    body_pose[JOINT_INDEX["left_elbow"] - 1] = (0.0, -np.pi / 2, 0.0)
    bent = SmplxParams.neutral(CAMERA, body_pose=body_pose)
    before, after = smplx_model.forward([rest, bent]).joints
    moved = np.linalg.norm(after - before, axis=1) > 1e-4
    elbow, wrist = JOINT_INDEX["left_elbow"], JOINT_INDEX["left_wrist"]
    assert not moved[: elbow + 1].any() and moved[wrist]
    forearm_before, forearm_after = before[wrist] - before[elbow], after[wrist] - after[elbow]
    # -90 degrees about y turns the forearm from +x (subject's left) to +z (forward).
    assert forearm_before[0] > 0.2 and forearm_after[2] > 0.2
    assert np.dot(forearm_before, forearm_after) == pytest.approx(0.0, abs=1e-4)  # measured 9.3e-10


def test_batches_lists_and_clips_give_the_same_result_as_single_records(smplx_model: SmplxModel) -> None:
    frames = [random_params(seed) for seed in range(3)]
    batch = smplx_model.forward(frames)
    clip = smplx_model.forward(MotionClip.from_params(frames, fps=30.0))
    for i, frame in enumerate(frames):
        single = smplx_model.forward(frame)
        np.testing.assert_allclose(batch.vertices[i], single.vertices[0], atol=1e-5)  # measured 2.4e-7
        np.testing.assert_allclose(batch.joints[i], single.joints[0], atol=1e-5)  # measured 2.4e-7
    np.testing.assert_array_equal(clip.vertices, batch.vertices)


def test_transl_shifts_the_whole_body(smplx_model: SmplxModel) -> None:
    params = random_params(4)
    moved = SmplxParams(**{**params.__dict__, "transl": params.transl + np.array([0.5, -0.25, 1.0])})
    a, b = smplx_model.forward([params, moved]).vertices
    np.testing.assert_allclose(b - a, np.broadcast_to((0.5, -0.25, 1.0), a.shape), atol=1e-5)  # 2.4e-7


def test_height_coefficient_changes_the_rest_skeleton(smplx_model: SmplxModel) -> None:
    tall = smplx_model.rest_joints(np.eye(10)[0] * 2.0)
    mean = smplx_model.rest_joints()
    head, ankle = JOINT_INDEX["head"], JOINT_INDEX["left_ankle"]
    assert tall[head, 1] - tall[ankle, 1] > mean[head, 1] - mean[ankle, 1] + 0.05


def test_hand_poses_are_absolute_and_hand_mean_converts_mean_relative_poses(
        smplx_model: SmplxModel, smplx_body_models: Path) -> None:
    with np.load(smplx_model_path(smplx_body_models), allow_pickle=False) as data:
        np.testing.assert_allclose(smplx_model.hand_mean[0].ravel(), data["hands_meanl"], atol=1e-6)
        np.testing.assert_allclose(smplx_model.hand_mean[1].ravel(), data["hands_meanr"], atol=1e-6)
    assert np.abs(smplx_model.hand_mean).max() > 0.1  # the synthetic hands have a curled mean
    # A network that predicts offsets from the mean hand (flat_hand_mean=False, as SMPLer-X) with zero
    # offsets means "the mean hand"; our model shows the same hand once the mean is added.
    relative = smplx.SMPLX(str(smplx_model_path(smplx_body_models)), ext="npz", use_pca=False,
                           flat_hand_mean=False, num_betas=10, num_expression_coeffs=10)
    with torch.inference_mode():
        expected = relative(transl=torch.tensor([[0.0, 0.0, 3.0]])).vertices[0].numpy()
    ours = SmplxParams.neutral(CAMERA, left_hand_pose=smplx_model.hand_mean[0],
                               right_hand_pose=smplx_model.hand_mean[1])
    np.testing.assert_allclose(smplx_model.forward(ours).vertices[0], expected, atol=1e-5)  # measured 0
    flat = smplx_model.forward(SmplxParams.neutral(CAMERA)).vertices[0]
    assert np.abs(flat - expected).max() > 0.005


def test_meshes_share_the_model_faces_and_carry_joints_and_track(smplx_model: SmplxModel) -> None:
    meshes = smplx_model.meshes([random_params(5, track_id=5), random_params(6, track_id=6)])
    assert [m.track_id for m in meshes] == [5, 6]
    assert all(m.faces is smplx_model.faces for m in meshes)
    assert smplx_model.faces.shape == (20908, 3) and smplx_model.faces.dtype == np.int32
    assert meshes[0].joints is not None and meshes[0].joints.shape == (55, 3)


def test_genders_load_from_their_own_file(smplx_body_models: Path, tmp_path: Path) -> None:
    (tmp_path / "smplx").mkdir()
    shutil.copy(smplx_model_path(smplx_body_models), smplx_model_path(tmp_path, "female"))
    assert available_genders(tmp_path) == ["female"]
    assert SmplxModel(tmp_path, "female").path.name == "SMPLX_FEMALE.npz"
    with pytest.raises(BodyModelError, match="SMPLX_MALE.npz does not exist"):
        SmplxModel(tmp_path, "male")
    with pytest.raises(BodyModelError, match="Unknown SMPL-X gender"):
        SmplxModel(tmp_path, "child")


def test_missing_file_names_the_path_and_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(BodyModelError) as info:
        SmplxModel(tmp_path)
    assert str(tmp_path / "smplx" / "SMPLX_NEUTRAL.npz") in info.value.message
    assert DOWNLOAD_URL in info.value.hint and "chumpy" in info.value.hint


def test_pkl_release_is_recognised_and_refused(tmp_path: Path) -> None:
    (tmp_path / "smplx").mkdir()
    (tmp_path / "smplx" / "SMPLX_NEUTRAL.pkl").write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(BodyModelError, match=r"SMPLX_NEUTRAL\.pkl, the \.pkl release, which needs chumpy"):
        SmplxModel(tmp_path)


def _write_model(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    path = smplx_model_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


@pytest.fixture(scope="module")
def model_arrays(smplx_body_models: Path) -> dict[str, np.ndarray]:
    with np.load(smplx_model_path(smplx_body_models)) as data:
        return {key: data[key] for key in data.files}


def test_file_that_is_not_an_npz_is_reported(tmp_path: Path) -> None:
    path = smplx_model_path(tmp_path)
    path.parent.mkdir()
    path.write_text("not a model")
    with pytest.raises(BodyModelError, match="is not a readable .npz file"):
        SmplxModel(tmp_path)


def test_truncated_download_is_reported(tmp_path: Path, smplx_body_models: Path) -> None:
    path = smplx_model_path(tmp_path)
    path.parent.mkdir()
    path.write_bytes(smplx_model_path(smplx_body_models).read_bytes()[:100_000])
    with pytest.raises(BodyModelError, match="is not a readable .npz file"):
        SmplxModel(tmp_path)


def test_missing_key_is_named(tmp_path: Path, model_arrays: dict[str, np.ndarray]) -> None:
    _write_model(tmp_path, {k: v for k, v in model_arrays.items() if k != "J_regressor"})
    with pytest.raises(BodyModelError, match="it lacks J_regressor"):
        SmplxModel(tmp_path)


def test_inconsistent_shapes_are_named(tmp_path: Path, model_arrays: dict[str, np.ndarray]) -> None:
    _write_model(tmp_path, {**model_arrays, "weights": model_arrays["weights"][:-5]})
    with pytest.raises(BodyModelError, match="'weights' has shape"):
        SmplxModel(tmp_path)
