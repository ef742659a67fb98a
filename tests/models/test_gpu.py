"""The network on a CUDA GPU computes what the official code computed on the CPU (skipped without CUDA)."""

from __future__ import annotations

import pytest
import torch

from mocap_app.models.smplerx import decode_outputs

BODY_OUTPUTS = ("smplx_root_pose", "smplx_body_pose", "smplx_jaw_pose", "smplx_shape", "smplx_expr", "cam_trans")


@pytest.mark.gpu
def test_tiny_reference_on_cuda_in_fp32(tiny_model, reference, monkeypatch: pytest.MonkeyPatch) -> None:
    # cuDNN convolutions default to TF32 (10-bit mantissa) on Ampere and newer: not fp32.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    model = tiny_model.to("cuda")
    try:
        with torch.inference_mode():
            decoded = decode_outputs(model(reference["input"].to("cuda")))
        for name in BODY_OUTPUTS:  # README tolerance of the body/face path
            error = float((decoded[name].cpu() - reference["outputs"][f"out_{name}"]).abs().max())
            assert error < 1e-4, (name, error)
    finally:
        tiny_model.to("cpu")
