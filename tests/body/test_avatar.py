"""The Anny default avatar: bone directions against SMPL-X, Anny's own kinematics, face, frame, cache.

The first run builds Anny into <repo>/.cache/anny (about a minute, ~0.8 GB; `scripts/setup.sh` does it) and keeps
the avatar's rig there; later runs load that in ~0.1 s. Nothing is written to the home folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mocap_app.body.avatar import ANNY_TO_SMPLX, AnnyAvatar, AvatarCache
from mocap_app.body.avatar_skeleton import AVATAR_REST_JOINTS
from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.body.retarget import ANNY_BONES_BY_JOINT, primary_bones
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.params import SmplxParams
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import JOINT_INDEX, JOINT_NAMES, forward_kinematics

ROOT = Path(__file__).resolve().parents[2]
CACHE = AvatarCache(anny_dir=ROOT / ".cache" / "anny", warp_dir=ROOT / ".cache" / "warp")
CAMERA = CameraIntrinsics(fx=500.0, fy=500.0, cx=320.0, cy=240.0, width=640, height=480)
# The avatar's float32 skinning (Anny in torch) against float64 kinematics: every error measured here is at most
# 9.5e-7 m and identical over torch threads 1/2, ATEN_CPU_CAPABILITY avx512/avx2/default and oneDNN on/off (AMD EPYC
# Zen 4, torch 2.13.0); the atol values below are that plus float32 headroom, far under a wrong bone (centimetres).


@pytest.fixture(scope="module")
def avatar() -> AnnyAvatar:
    lines: list[str] = []
    loaded = AnnyAvatar(cache=CACHE, progress=lines.append).load()
    assert lines[-1].startswith("Default avatar ready")
    return loaded


def _angles_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cos = (u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _plausible_poses(rng: np.random.Generator, count: int) -> list[SmplxParams]:
    """Random poses inside a human range: any facing, limbs bent up to ~35°, fingers curled."""
    poses = []
    for _ in range(count):
        body = rng.uniform(-0.6, 0.6, (21, 3))
        hands = [rng.uniform(-0.2, 0.2, (15, 3)) + [0.0, 0.0, 0.4] * rng.uniform(0, 1, (15, 1)) for _ in "lr"]
        poses.append(SmplxParams.neutral(
            CAMERA, global_orient=rng.normal(0.0, 1.2, 3), body_pose=body, left_hand_pose=hands[0],
            right_hand_pose=hands[1], jaw_pose=[rng.uniform(0, 0.3), 0.0, 0.0],
            leye_pose=rng.uniform(-0.2, 0.2, 3), reye_pose=rng.uniform(-0.2, 0.2, 3),
            transl=rng.normal([0.0, 0.0, 3.0], 0.5)))
    return poses


def _smplx_fk(params: list[SmplxParams]) -> np.ndarray:
    local = axis_angle_to_matrix(np.stack([p.full_pose() for p in params]))
    return forward_kinematics(REST_JOINTS, local, np.stack([p.transl for p in params]))[1]


def test_avatar_bone_directions_follow_smplx_within_2_degrees(avatar: AnnyAvatar) -> None:
    params = _plausible_poses(np.random.default_rng(0), 24)
    out = avatar.forward(params)
    smplx_joints = _smplx_fk(params)
    np.testing.assert_allclose(out.joints[:, 0], smplx_joints[:, 0], atol=1e-5)  # measured 0
    for parent, child in primary_bones():
        errors = _angles_deg(out.joints[:, child] - out.joints[:, parent],
                             smplx_joints[:, child] - smplx_joints[:, parent])
        assert errors.max() < 2.0, f"{JOINT_NAMES[parent]} -> {JOINT_NAMES[child]}: {errors.max():.2f}°"
    # The other bones are rigid offsets of the avatar's own proportions (pelvis → hips, spine3 →
    # collars, head → eyes/jaw, wrist → knuckles): they turn exactly as SMPL-X's, from the avatar's rest.
    local = axis_angle_to_matrix(np.stack([p.full_pose() for p in params]))
    expected = forward_kinematics(avatar.rest_joints(), local, np.stack([p.transl for p in params]))[1]
    np.testing.assert_allclose(out.joints, expected, atol=1e-4)  # measured 2.5e-7


def test_retargeted_pose_through_annys_own_kinematic_tree_gives_the_same_body(avatar: AnnyAvatar) -> None:
    # Anny's "world-orient" forward kinematics places every bone head by its parent bone's motion;
    # giving it our per-bone orientations must reproduce our skin and joints, which holds only if each
    # Anny bone is driven by the right SMPL-X joint.
    import torch

    params = _plausible_poses(np.random.default_rng(1), 3)
    params = [SmplxParams.neutral(CAMERA, **{k: getattr(p, k) for k in ("global_orient", "body_pose",
              "left_hand_pose", "right_hand_pose", "leye_pose", "reye_pose", "transl")}) for p in params]
    ours = avatar.forward(params)
    transforms, _ = avatar.bone_transforms(params)
    model = avatar.anny_model()
    with torch.inference_mode():
        rest_orientations = model()["rest_bone_poses"][0, :, :3, :3].numpy().astype(np.float64)
        anny_axes = ANNY_TO_SMPLX.T @ transforms[..., :3, :3]  # rotation in Anny's axes: C^T M C
        deltas = np.zeros_like(transforms)
        deltas[..., :3, :3] = anny_axes @ rest_orientations
        rest_root = model()["rest_bone_heads"][0, 0].numpy().astype(np.float64)
        deltas[:, 0, :3, 3] = (ANNY_TO_SMPLX.T @ transforms[:, 0, :3, 3, None])[..., 0] + anny_axes[:, 0] @ rest_root
        deltas[..., 3, 3] = 1.0
        out = model(torch.from_numpy(deltas.astype(np.float32)), pose_parameterization="world-orient")
    vertices = out["vertices"].numpy() @ ANNY_TO_SMPLX.T
    np.testing.assert_allclose(vertices, ours.vertices, atol=2e-4)  # measured 9.5e-7
    heads = out["bone_poses"][..., :3, 3].numpy() @ ANNY_TO_SMPLX.T
    labels = list(model.bone_labels)
    for joint in ("left_knee", "right_ankle", "neck", "left_wrist", "right_elbow", "left_index3", "right_thumb2"):
        bone = {"left_knee": "lowerleg01.L", "right_ankle": "foot.R", "neck": "neck01", "left_wrist": "wrist.L",
                "right_elbow": "lowerarm01.R", "left_index3": "finger2-3.L", "right_thumb2": "finger1-2.R"}[joint]
        # measured 4.8e-7
        np.testing.assert_allclose(heads[:, labels.index(bone)], ours.joints[:, JOINT_INDEX[joint]], atol=2e-4)


def _distance_to_bone(vertices: np.ndarray, joints: np.ndarray, a: str, b: str) -> np.ndarray:
    start, end = joints[..., JOINT_INDEX[a], None, :], joints[..., JOINT_INDEX[b], None, :]
    axis = (end - start) / np.linalg.norm(end - start, axis=-1, keepdims=True)
    along = ((vertices - start) * axis).sum(-1, keepdims=True)
    return np.linalg.norm(vertices - start - along * axis, axis=-1)


def test_skin_follows_the_posed_limbs(avatar: AnnyAvatar) -> None:
    weights, indices = avatar.rig.vertex_bone_weights, avatar.rig.vertex_bone_indices
    labels = list(avatar.rig.bone_labels)
    neutral = avatar.forward(SmplxParams.neutral(CAMERA))
    posed_params = _plausible_poses(np.random.default_rng(2), 4)
    posed = avatar.forward(posed_params)
    for a, b in (("left_elbow", "left_wrist"), ("right_knee", "right_ankle"), ("right_shoulder", "right_elbow")):
        # Skin that only the bones of joint `a` move.
        group = np.isin(indices, [labels.index(bone) for bone in ANNY_BONES_BY_JOINT[a]])
        rigid = (weights * group).sum(1) > 0.999
        assert rigid.sum() >= 20, a

        rest = _distance_to_bone(neutral.vertices[0][rigid], neutral.joints[0], a, b)
        moved = _distance_to_bone(posed.vertices[:, rigid], posed.joints, a, b)
        np.testing.assert_allclose(moved, np.broadcast_to(rest, moved.shape), atol=1e-3)  # measured 5e-7


def test_mesh_is_where_smplx_puts_it_global_orient_about_pelvis_then_transl(avatar: AnnyAvatar) -> None:
    rest = avatar.forward(SmplxParams.neutral(CAMERA, transl=np.zeros(3)))
    flip = np.array([np.pi, 0.0, 0.0])  # model y-up → camera y-down, as estimators output
    transl = np.array([0.1, -0.2, 2.5])
    placed = avatar.forward(SmplxParams.neutral(CAMERA, global_orient=flip, transl=transl))
    rotation = axis_angle_to_matrix(flip)
    pelvis = REST_JOINTS[0]
    np.testing.assert_allclose(placed.vertices[0], (rest.vertices[0] - pelvis) @ rotation.T + pelvis + transl,
                               atol=1e-5)  # measured 5.2e-7
    np.testing.assert_allclose(rest.joints[0], avatar.rest_joints(), atol=1e-6)  # measured 0
    # The copy the estimator fits without building the avatar (6 decimals written: 5e-7).
    np.testing.assert_allclose(AVATAR_REST_JOINTS, avatar.rest_joints(), atol=1e-6)
    # A standing adult, feet near SMPL-X's.
    height = rest.vertices[0, :, 1].max() - rest.vertices[0, :, 1].min()
    assert 1.5 < height < 1.9
    assert abs(rest.vertices[0, :, 1].min() - REST_JOINTS[:, 1].min()) < 0.08
    # Closed surface with outward (counter-clockwise) faces: positive enclosed volume.
    mesh = avatar.meshes(SmplxParams.neutral(CAMERA, track_id=7))[0]
    tri = mesh.vertices[mesh.faces].astype(np.float64)
    volume = np.einsum("fi,fi->f", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6
    assert 0.04 < volume < 0.12 and mesh.track_id == 7 and mesh.joints is not None


def test_jaw_and_expression_show_as_facial_blend_shape_weights(avatar: AnnyAvatar) -> None:
    labels = avatar.facial_action_labels
    assert len(labels) == 52 and {"jawOpen", "jawLeft", "jawRight", "eyeBlinkLeft"} <= set(labels)
    weights = avatar.facial_actions(np.array([[0.15, 0.0, 0.0], [0.0, 0.03, 0.0], [0.0, -0.03, 0.0],
                                              [-0.2, 0.0, 0.0], [2.0, 0.0, 0.0]]), np.zeros((5, 10)))
    by_name = {name: weights[:, i] for i, name in enumerate(labels)}
    assert 0.2 < by_name["jawOpen"][0] < 0.8 and by_name["jawOpen"][4] == 1.0
    assert by_name["jawLeft"][1] > 0.2 and by_name["jawRight"][1] == 0.0
    assert by_name["jawRight"][2] > 0.2 and by_name["jawLeft"][2] == 0.0
    assert not weights[3].any()  # closing past rest has no shape
    assert np.count_nonzero(weights[:3]) == 3

    # The mouth opens on the mesh: the part that drops most is in front of the jaw joint.
    closed = avatar.forward(SmplxParams.neutral(CAMERA, transl=np.zeros(3)))
    opened = avatar.forward(SmplxParams.neutral(CAMERA, transl=np.zeros(3), jaw_pose=[0.25, 0.0, 0.0]))
    assert opened.facial_actions[0, labels.index("jawOpen")] > 0.5
    drop = closed.vertices[0, :, 1] - opened.vertices[0, :, 1]
    chin = closed.vertices[0, drop.argmax()]
    jaw = avatar.rest_joints()[JOINT_INDEX["jaw"]]
    assert drop.max() > 0.015 and chin[2] > jaw[2] + 0.03

    # Expression coefficients reach the face through a supplied map; the same avatar data is reused.
    expression_map = np.zeros((52, 10))
    expression_map[labels.index("mouthSmileLeft"), 1] = 1.0
    mapped = avatar.with_expression_map(expression_map)
    smile = mapped.forward(SmplxParams.neutral(CAMERA, expression=[0.0, 0.6, *[0.0] * 8]))
    assert smile.facial_actions[0, labels.index("mouthSmileLeft")] == pytest.approx(0.6)
    assert not avatar.forward(SmplxParams.neutral(CAMERA, expression=[0.0, 0.6, *[0.0] * 8])).facial_actions.any()


def test_eye_pose_turns_the_eyes(avatar: AnnyAvatar) -> None:
    labels = list(avatar.rig.bone_labels)
    weights, indices = avatar.rig.vertex_bone_weights, avatar.rig.vertex_bone_indices
    eyeball = ((indices == labels.index("eye.L")) & (weights > 0.99)).any(1)
    still = avatar.forward(SmplxParams.neutral(CAMERA))
    looking = avatar.forward(SmplxParams.neutral(CAMERA, leye_pose=[0.0, 0.3, 0.0]))
    assert np.abs(looking.vertices[0, eyeball] - still.vertices[0, eyeball]).max() > 0.002
    others = ~((indices == labels.index("eye.L")) & (weights > 0)).any(1)
    np.testing.assert_allclose(looking.vertices[0, others], still.vertices[0, others], atol=1e-6)  # measured 0


def test_cache_resolution_prefers_arguments_then_environment_then_repo(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    monkeypatch.delenv("ANNY_CACHE_DIR", raising=False)
    monkeypatch.delenv("WARP_CACHE_PATH", raising=False)
    assert AvatarCache.resolve() == CACHE
    monkeypatch.setenv("ANNY_CACHE_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("WARP_CACHE_PATH", str(tmp_path / "w"))
    assert AvatarCache.resolve() == AvatarCache(tmp_path / "a", tmp_path / "w")
    assert AvatarCache.resolve(anny_dir=tmp_path / "x").anny_dir == tmp_path / "x"


_CHILD = """
import json, sys
from pathlib import Path
from mocap_app.body.avatar import AnnyAvatar, AvatarCache
avatar = AnnyAvatar(cache=AvatarCache(Path(sys.argv[1]), Path(sys.argv[2])), progress=lambda line: None).load()
assert "torch" not in sys.modules and "anny" not in sys.modules, "the rig loads without anny and torch"
avatar.anny_model()
import anny, warp
print(json.dumps({"anny": str(anny.paths.get_anny_cache_path()), "warp": str(warp.config.kernel_cache_dir)}))
"""


def test_cache_location_is_honoured_and_home_stays_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ANNY_CACHE_DIR", "WARP_CACHE_PATH", "XDG_CACHE_HOME")}
    env |= {"HOME": str(home), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", _CHILD, str(CACHE.anny_dir), str(CACHE.warp_dir)],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    used = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(used["anny"]) == CACHE.anny_dir
    assert Path(used["warp"]).is_relative_to(CACHE.warp_dir)
    assert list(CACHE.anny_dir.glob("v*/build_compact_model_data_*.safetensors"))
    assert list(home.rglob("*")) == []


def test_the_kept_rig_is_what_anny_gives_and_an_unreadable_one_is_built_again(avatar: AnnyAvatar,
                                                                              tmp_path: Path) -> None:
    import torch

    from mocap_app.body.avatar import AnnyRig

    fresh = AnnyRig.from_model(avatar.anny_model(), torch)
    kept = AnnyRig.load(CACHE.rig_path)
    for name, value in vars(fresh).items():
        np.testing.assert_array_equal(np.asarray(getattr(kept, name)), np.asarray(value), err_msg=name)
    # A cache whose rig file is cut short (Anny's own data linked in: no minute-long build here).
    cache = AvatarCache(anny_dir=tmp_path / "anny", warp_dir=CACHE.warp_dir)
    cache.anny_dir.mkdir()
    for built in CACHE.anny_dir.glob("v*"):
        (cache.anny_dir / built.name).symlink_to(built)
    cache.rig_path.write_bytes(CACHE.rig_path.read_bytes()[:1000])
    lines: list[str] = []
    rebuilt = AnnyAvatar(cache=cache, progress=lines.append).load()
    assert lines[0].startswith("Building the default avatar")
    np.testing.assert_array_equal(rebuilt.forward(SmplxParams.neutral(CAMERA)).vertices,
                                  avatar.forward(SmplxParams.neutral(CAMERA)).vertices)
    assert AnnyRig.load(cache.rig_path).faces.shape == avatar.faces.shape
    assert not list(cache.anny_dir.glob(".*partial"))
