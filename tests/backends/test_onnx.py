"""The exported graph: fixed-grid RoI-align against the official rule, ONNX Runtime against torch fp32 (raw, and
decoded against the official reference outputs), int8's cost, metadata that forces a rebuild, a corrupt graph,
and the ONNX Runtime path with torch absent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mocap_app.backends.artifacts import EngineMismatchError, read_sidecar, sidecar_path
from mocap_app.backends.build import BuildSpec, ensure_artifact, find_artifact
from mocap_app.backends.registry import load_backend
from mocap_app.core.errors import ModelFileError, UnsupportedFormatError
from mocap_app.models.layout import OUTPUT_NAMES, decode_outputs
from mocap_app.models.ops import MAX_ROI_SAMPLES, roi_align_avg
from mocap_app.models.smplerx import build_smplerx, use_fixed_roi_grid

DATA = Path(__file__).resolve().parents[1] / "data" / "smplerx"
ROOT = Path(__file__).resolve().parents[2]
# Measured (AMD EPYC Zen 4, 2 threads, torch 2.13 / onnxruntime 1.32), worst over the reference input and a batch of
# 3 with 2 random crops, ONNX Runtime vs torch eager fp32, then a 3-10x margin:
ORT_TOL = {
    # ViT, body and face heads: worst 5.5e-6 (body_pose_6d)
    "body": 1e-4,
    # hand 6D after the RoI crop (the tiny reference's peaked heat-maps amplify rounding): worst 8.7e-5
    "hand_pose_6d": 1e-3,
    # joint_img and the boxes go through BoxNet's soft-argmax: worst 7.4e-4 cells, 2.3e-3 crop px
    "joint_img": 5e-3, "bbox": 0.02,
}


def tolerance(name: str) -> float:
    return next((tol for part, tol in ORT_TOL.items() if part in name), ORT_TOL["body"])


@pytest.fixture(scope="module")
def tiny_model():
    model = build_smplerx("tiny")
    state = torch.load(DATA / "weights.pt", weights_only=True)["network"]
    model.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    return model


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    """The reference input and two random crops, (3, 3, 512, 384) float32 in [0, 1]."""
    generator = torch.Generator().manual_seed(3)
    reference = torch.load(DATA / "input.pt", weights_only=True)
    return torch.cat([reference, torch.rand(2, 3, 512, 384, generator=generator)]).numpy()


def test_fixed_grid_roi_align_equals_the_official_rule(tiny_model, crops) -> None:
    with torch.inference_mode():
        official = tiny_model(torch.from_numpy(crops))
        use_fixed_roi_grid(tiny_model)
        try:
            fixed = tiny_model(torch.from_numpy(crops))
        finally:
            tiny_model.hand_roi_net.roi_samples = None
    # The same samples, summed by comparisons instead of a scatter: measured 0.0 on every output here
    for name in OUTPUT_NAMES:
        assert float((fixed[name] - official[name]).abs().max()) <= 1e-5, name
    # At the network's scale (64x48 map, 16x16 output): boxes inside, sticking out, tiny, inverted, outside, and up
    # to 128 px a side (8 samples per bin), the fixed grid of 8 equals the adaptive one
    rng = np.random.default_rng(7)
    feat = torch.from_numpy(rng.normal(size=(2, 4, 64, 48)).astype(np.float32))
    boxes = torch.tensor([[3.3, 5.2, 27.9, 39.4], [-6.37, -4.5, 14.1, 15.0], [30.0, 50.0, 52.5, 70.0],
                          [20.2, 20.3, 20.4, 20.35], [25.0, 25.0, 12.0, 11.0], [-40.0, -30.0, -20.0, -10.0],
                          [-40.0, -30.0, 80.0, 97.0]])
    index = torch.tensor([0, 1, 0, 1, 0, 1, 0])
    error = float((roi_align_avg(feat, boxes, index, (16, 16), MAX_ROI_SAMPLES)
                   - roi_align_avg(feat, boxes, index, (16, 16))).abs().max())
    assert error < 1e-6, error  # measured 2.4e-7 (summation order)
    # Bigger RoIs average 8 evenly spaced samples per bin instead of ceil(side / 16): close, not equal
    huge = torch.tensor([[-300.0, -200.0, 400.0, 350.0]])
    capped = roi_align_avg(feat, huge, index[:1], (16, 16), MAX_ROI_SAMPLES)
    assert 0 < float((capped - roi_align_avg(feat, huge, index[:1], (16, 16))).abs().max()) < 0.5


def test_onnxruntime_equals_torch_fp32_raw_and_decoded(tiny_model, crops, tiny_checkpoint, built_engines) -> None:
    backend = load_backend(tiny_checkpoint, backend="onnxruntime", device="cpu", precision="fp32",
                           engines_dir=built_engines, build=False)
    info = backend.describe()
    assert (info.name, info.device, info.precision, info.size) == ("onnxruntime", "cpu", "fp32", "tiny")
    assert info.input_shape == (8, 3, 512, 384)
    ours = backend(crops)
    with torch.inference_mode():
        expected = {k: v.numpy() for k, v in tiny_model(torch.from_numpy(crops)).items()}
    errors = {name: float(np.abs(ours[name] - expected[name]).max()) for name in OUTPUT_NAMES}
    print("\nONNX Runtime vs torch fp32, max abs:", {k: f"{v:.2g}" for k, v in errors.items()})
    assert all(errors[name] <= tolerance(name) for name in OUTPUT_NAMES), errors
    # The reference test's own tolerances hold through the ONNX path (decoded, against the official outputs)
    from tests.models.test_smplerx_reference import BODY_TOL, E2E_TOL

    reference = torch.load(DATA / "outputs.pt", weights_only=True)
    decoded = decode_outputs({name: value[:1] for name, value in ours.items()})
    for name, value in decoded.items():
        error = float(np.abs(value - reference[f"out_{name}"].numpy()).max())
        assert error <= E2E_TOL.get(f"out_{name}", BODY_TOL), (name, error)
    backend.close()


def test_int8_graph_is_smaller_and_its_cost_is_bounded(tiny_checkpoint, engines_copy, crops) -> None:
    from mocap_app.cli.bench_model import joint_angle_errors_deg

    fp32 = load_backend(tiny_checkpoint, backend="onnxruntime", precision="fp32", engines_dir=engines_copy)
    int8 = load_backend(tiny_checkpoint, backend="onnxruntime", precision="int8", engines_dir=engines_copy)
    path, key = find_artifact(BuildSpec(tiny_checkpoint, "onnx", "int8", engines_copy))
    assert key.precision == "int8" and int8.describe().precision == "int8"
    fp32_path, _ = find_artifact(BuildSpec(tiny_checkpoint, "onnx", "fp32", engines_copy))
    assert path.stat().st_size < fp32_path.stat().st_size  # tiny: 20.1 vs 29.4 MB (deconvolutions stay fp32)
    angles = joint_angle_errors_deg(decode_outputs(fp32(crops)), decode_outputs(int8(crops)))  # (3 crops, 53)
    print(f"\nint8 vs fp32 joint angle error (deg): reference input mean {angles[0].mean():.2f} max "
          f"{angles[0].max():.2f}; random crops mean {angles[1:].mean():.2f} max {angles[1:].max():.2f}")
    # int8 rounds each matmul weight to 1/127 of its tensor's range and each activation per call: measured on the
    # tiny reference input mean 8.4°, max 112° (a hand joint); random crops mean 6.4°, max 142°. The tiny network's
    # deliberately peaked heat-map heads (gains 40-64) turn small changes into jumps; on SMPLer-X-S (random weights,
    # sample-clip crops, `bench model`) the cost is mean 1.5°, max 10.9°. Unrelated rotations differ by ~100° on
    # average, so a broken graph fails this bound.
    assert 0 < angles.mean() < 15


def test_a_graph_whose_metadata_does_not_match_is_rebuilt_never_used(tiny_checkpoint, engines_copy) -> None:
    with pytest.raises(EngineMismatchError, match="batch_max: built 8, now 4"):
        find_artifact(BuildSpec(tiny_checkpoint, "onnx", "fp32", engines_copy, batch_max=4))
    spec = BuildSpec(tiny_checkpoint, "onnx", "int8", engines_copy)  # int8: rebuilt from the fp32 graph in ~1 s
    path, key = ensure_artifact(spec)
    sidecar = json.loads(sidecar_path(path).read_text())
    sidecar["key"]["checkpoint_sha256"] = "0" * 64
    sidecar_path(path).write_text(json.dumps(sidecar))
    with pytest.raises(EngineMismatchError, match="checkpoint_sha256: built '0000"):
        find_artifact(spec)
    sidecar_path(path).write_text("{not json")
    with pytest.raises(EngineMismatchError, match="no readable metadata"):
        find_artifact(spec)
    sidecar_path(path).unlink()
    messages: list[str] = []
    rebuilt, new_key = ensure_artifact(spec, progress=messages.append)
    assert rebuilt == path and new_key == key and read_sidecar(rebuilt) == key
    assert any("no readable metadata" in m and "Building it" in m for m in messages), messages
    assert any("quantised in" in m for m in messages), messages


def test_a_corrupt_graph_is_an_error_or_rebuilt(tiny_checkpoint, engines_copy) -> None:
    spec = BuildSpec(tiny_checkpoint, "onnx", "int8", engines_copy)
    path, _ = ensure_artifact(spec)
    path.write_bytes(b"\x08\x07 not a graph")  # valid sidecar, broken file
    with pytest.raises(ModelFileError, match="ONNX Runtime cannot load") as info:
        load_backend(tiny_checkpoint, backend="onnxruntime", precision="int8", engines_dir=engines_copy, build=False)
    assert "build-engine" in info.value.hint
    backend = load_backend(tiny_checkpoint, backend="onnxruntime", precision="int8", engines_dir=engines_copy)
    assert backend.describe().precision == "int8" and path.stat().st_size > 1000


def test_a_built_graph_opens_directly_by_its_suffix(built_engines, crops) -> None:
    path = next(built_engines.glob("*-fp32.onnx"))
    backend = load_backend(path)  # size, precision and batch range from its sidecar
    assert (backend.describe().name, backend.size, backend.precision) == ("onnxruntime", "tiny", "fp32")
    assert backend(crops[:1])["joint_img"].shape == (1, 65, 3)
    with pytest.raises(UnsupportedFormatError, match="torch backend does not open"):
        load_backend(path, backend="torch")


_BLOCK_TORCH = '''
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, NoTorch())
'''


def test_onnxruntime_alone_runs_the_estimator_without_torch(tiny_checkpoint, built_engines, tmp_path) -> None:
    """An install with onnxruntime and no torch: the estimator, its decoding and the graph found by the
    checkpoint's hash; importing torch anywhere on the way fails the run."""
    code = _BLOCK_TORCH + f'''
import numpy as np
from mocap_app.core.frames import Detection, Frame
from mocap_app.estimators.smplerx import SmplerxEstimator
estimator = SmplerxEstimator.from_checkpoint({str(tiny_checkpoint)!r}, backend="auto",
                                             engines_dir={str(built_engines)!r})
image = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
frame = Frame(image=image, index=0, timestamp_ns=0)
result = estimator.estimate(frame, [Detection(box=np.array([200.0, 60.0, 420.0, 460.0]), score=0.9, track_id=1)])
print(estimator.describe().name, len(result), float(np.abs(result[0].body_pose).sum()) > 0)
print(sorted(m for m in sys.modules if m.split(".")[0] == "torch"))
'''
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[:2] == ["onnxruntime 1 True", "[]"], result.stdout
