"""Our network against the official forward's tensors (tests/data/smplerx, see its README for tolerances)."""

from __future__ import annotations

import pytest
import torch

from mocap_app.models.ops import restore_bbox
from mocap_app.models.smplerx import decode_outputs

# README tolerances (measured run-to-run variation of the official code): 1e-4 encoder/body/face, 5e-3 boxes and
# the hand path. The errors measured here are 10-100x smaller; they are BLAS summation order (CPU kernels differ).
BODY_TOL = 1e-4
HAND_TOL = 5e-3
HAND_PATH = {"lhand_center", "lhand_size", "rhand_center", "rhand_size", "face_center", "face_size",
             "lhand_bbox_body", "rhand_bbox_body", "hand_feat", "hand_joint_img", "hand_pose_6d", "out_joint_img",
             "out_smplx_lhand_pose", "out_smplx_rhand_pose", "out_lhand_bbox", "out_rhand_bbox", "out_face_bbox"}


def run_with_hooks(model, image):
    """Forward pass that also captures the module outputs the reference stored (names as in its README)."""
    captured = {}

    def keep(name):
        def hook(module, args, output):
            captured[name] = (args, output)
        return hook

    handles = [getattr(model, name).register_forward_hook(keep(name)) for name in
               ("encoder", "body_position_net", "body_regressor", "box_net", "hand_roi_net", "hand_position_net",
                "hand_regressor", "face_regressor")]
    try:
        with torch.inference_mode():
            decoded = decode_outputs(model(image))
    finally:
        for handle in handles:
            handle.remove()
    ours = {
        "enc_img_feat": captured["encoder"][1][0], "enc_task_tokens": captured["encoder"][1][1],
        "body_joint_hm": captured["body_position_net"][1][0], "body_joint_img": captured["body_position_net"][1][1],
        "lhand_bbox_body": captured["hand_roi_net"][0][1], "rhand_bbox_body": captured["hand_roi_net"][0][2],
        "hand_feat": captured["hand_roi_net"][1], "hand_joint_img": captured["hand_position_net"][1],
        "hand_pose_6d": captured["hand_regressor"][1],
    }
    ours |= dict(zip(("root_pose_6d", "body_pose_6d", "shape_param", "cam_param"),
                     captured["body_regressor"][1], strict=True))
    ours |= dict(zip(("lhand_center", "lhand_size", "rhand_center", "rhand_size", "face_center", "face_size"),
                     captured["box_net"][1], strict=True))
    ours |= dict(zip(("expr_param", "jaw_pose_6d"), captured["face_regressor"][1], strict=True))
    ours |= {f"out_{name}": value for name, value in decoded.items()}
    return ours


def test_every_reference_tensor_matches_end_to_end(tiny_model, reference):
    ours = run_with_hooks(tiny_model, reference["input"])
    expected = reference["outputs"]
    assert set(expected) <= set(ours)
    errors = {name: float((ours[name].float() - value).abs().max()) for name, value in expected.items()}
    for name, value in expected.items():
        assert ours[name].shape == value.shape, name
    print("\nmax abs error per tensor:\n" + "\n".join(f"  {k:24s} {v:.3g}" for k, v in errors.items()))
    too_far = {k: v for k, v in errors.items() if v > (HAND_TOL if k in HAND_PATH else BODY_TOL)}
    assert not too_far


def test_each_stage_matches_when_fed_the_reference_inputs(tiny_model, reference):
    """Stage by stage from the official intermediate tensors: no error can build up, so tolerances are tight."""
    out = reference["outputs"]
    tokens = out["enc_task_tokens"]
    with torch.inference_mode():
        heatmap, joints = tiny_model.body_position_net(out["enc_img_feat"])
        body = tiny_model.body_regressor(tokens[:, 6:], tokens[:, 0], tokens[:, 1], out["body_joint_img"])
        boxes = tiny_model.box_net(out["enc_img_feat"], out["body_joint_hm"])
        lbox = restore_bbox(out["lhand_center"], out["lhand_size"], (16, 12), (256, 192), 1.0, 2.0)
        rbox = restore_bbox(out["rhand_center"], out["rhand_size"], (16, 12), (256, 192), 1.0, 2.0)
        hand_feat = tiny_model.hand_roi_net(out["enc_img_feat"], out["lhand_bbox_body"], out["rhand_bbox_body"])
        hand_joints = tiny_model.hand_position_net(out["hand_feat"])
        hand_pose = tiny_model.hand_regressor(out["hand_feat"], out["hand_joint_img"])
    pairs = {
        "body_joint_hm": heatmap, "body_joint_img": joints, "root_pose_6d": body[0], "body_pose_6d": body[1],
        "shape_param": body[2], "cam_param": body[3], "lhand_bbox_body": lbox, "rhand_bbox_body": rbox,
        "hand_feat": hand_feat, "hand_joint_img": hand_joints, "hand_pose_6d": hand_pose,
        **dict(zip(("lhand_center", "lhand_size", "rhand_center", "rhand_size", "face_center", "face_size"),
                   boxes, strict=True)),
    }
    for name, ours in pairs.items():
        assert float((ours - out[name]).abs().max()) <= 2e-5, name
    # The box geometry is elementwise fp32 in the official order: bit-exact.
    assert torch.equal(lbox, out["lhand_bbox_body"]) and torch.equal(rbox, out["rhand_bbox_body"])


def test_batched_forward_equals_per_person_forward(tiny_model, reference):
    """Three different crops in one batch give each one's own result (RoI batch indices, cross products)."""
    generator = torch.Generator().manual_seed(3)
    images = torch.cat([reference["input"], torch.rand(2, 3, 512, 384, generator=generator)])
    with torch.inference_mode():
        together = decode_outputs(tiny_model(images))
        alone = [decode_outputs(tiny_model(images[i:i + 1])) for i in range(3)]
    for name, value in together.items():
        for i in range(3):
            tol = HAND_TOL if "hand" in name or "joint" in name or "bbox" in name else 1e-4
            assert torch.allclose(value[i], alone[i][name][0], atol=tol, rtol=0), (name, i)


@pytest.mark.parametrize("precision", ["bf16"])
def test_reduced_precision_stays_close(tiny_model, reference, precision):
    from mocap_app.backends.torch_backend import TorchBackend

    fp32 = TorchBackend(tiny_model, precision="fp32")(reference["input"].numpy())
    low = TorchBackend(tiny_model, precision=precision)(reference["input"].numpy())
    assert set(low) == set(fp32)
    for name in ("root_pose_6d", "betas", "cam_param"):
        assert low[name].dtype == fp32[name].dtype
        assert abs(low[name] - fp32[name]).max() < 0.1 * (abs(fp32[name]).max() + 1), name
