"""Official checkpoint files: what loads, and the one clear error each bad file gives."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from mocap_app.backends.checkpoint import load_checkpoint, read_state_dict
from mocap_app.backends.registry import backend_for_file, load_backend
from mocap_app.core.errors import ModelFileError, UnsupportedFormatError

DATA = Path(__file__).resolve().parents[1] / "data" / "smplerx"


@pytest.fixture(scope="module")
def tiny_network() -> dict[str, torch.Tensor]:
    """The tiny reference's state dict in the official layout ('module.' keys)."""
    return {k: v.clone() for k, v in torch.load(DATA / "weights.pt", weights_only=True)["network"].items()}


def save(path: Path, payload: object) -> Path:
    torch.save(payload, path)
    return path


def test_official_layout_loads_and_computes(tiny_network, tmp_path):
    path = save(tmp_path / "smpler_x_tiny.pth.tar", {"epoch": 7, "network": tiny_network, "optimizer": {}})
    model = load_checkpoint(path)
    assert model.config.name == "tiny" and not model.training
    reference = torch.load(DATA / "outputs.pt", weights_only=True)
    with torch.inference_mode():
        out = model(torch.load(DATA / "input.pt", weights_only=True))
    # worst 9.5e-7 over threads 1/2, ATEN avx512/avx2/default, oneDNN on/off (Zen 4); the reference tests' body 1e-4
    assert torch.allclose(out["cam_param"], reference["cam_param"], atol=1e-4)


def test_old_key_names_and_smplx_layer_buffers_are_normalised(tiny_network, tmp_path):
    renamed = {}
    for key, value in tiny_network.items():
        key = key.removeprefix("module.").replace("encoder.", "backbone.", 1) if key.startswith("module.encoder") \
            else key.replace("body_regressor", "body_rotation_net").replace("hand_regressor", "hand_rotation_net")
        renamed[key] = value
    renamed["module.smplx_layer.v_template"] = torch.zeros(10475, 3)
    state = read_state_dict(save(tmp_path / "old.pth", {"network": renamed}))
    assert set(state) == {k.removeprefix("module.") for k in tiny_network}
    assert load_checkpoint(tmp_path / "old.pth").config.name == "tiny"


def test_real_size_s_file_loads_strictly(tmp_path):
    """A full-size S file (random values) round-trips through torch.save and the strict loader."""
    from mocap_app.models.smplerx import build_smplerx

    state = {f"module.{k}": v for k, v in build_smplerx("s", device="meta").state_dict().items()}
    state = {k: torch.zeros(v.shape, dtype=v.dtype) for k, v in state.items()}
    model = load_checkpoint(save(tmp_path / "smpler_x_s32.pth.tar", {"network": state}))
    assert model.config.name == "s" and sum(p.numel() for p in model.parameters()) == 32_008_024


def test_truncated_file(tiny_network, tmp_path):
    path = save(tmp_path / "cut.pth.tar", {"network": tiny_network})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated or corrupt") as info:
        load_checkpoint(path)
    assert "Download the file again" in info.value.hint


def test_text_file(tmp_path):
    path = tmp_path / "smpler_x_b32.pth.tar"
    path.write_text("<html>404 Not Found</html>\n")
    with pytest.raises(ModelFileError, match="not a PyTorch checkpoint file"):
        load_checkpoint(path)


def test_other_models_file(tmp_path):
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8)).state_dict()
    with pytest.raises(ModelFileError, match="no encoder weights"):
        load_checkpoint(save(tmp_path / "resnet.pth", {"state_dict": other, "meta": {}}))
    with pytest.raises(ModelFileError, match="not a SMPLer-X state dict"):
        load_checkpoint(save(tmp_path / "epoch_only.pth", {"epoch": 3}))


def test_file_that_would_run_code_is_refused(tiny_network, tmp_path):
    # Any class outside torch's weights-only allow-list could execute code when unpickled.
    path = save(tmp_path / "with_args.pth.tar", {"network": tiny_network, "args": argparse.Namespace(lr=1e-4)})
    with pytest.raises(ModelFileError, match="could run that code"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist") as info:
        load_checkpoint(tmp_path / "smpler_x_s32.pth.tar")
    assert "github.com/caizhongang/SMPLer-X" in info.value.hint and "non-commercial" in info.value.hint


def test_mismatch_lists_missing_unexpected_and_wrong_shape_keys(tiny_network, tmp_path):
    state = dict(tiny_network)
    del state["module.face_regressor.expr_out.0.bias"]
    state["module.face_regressor.extra.weight"] = torch.zeros(3)
    state["module.hand_regressor.hand_pose_out.0.weight"] = torch.zeros(45, 10300)
    with pytest.raises(ModelFileError) as info:
        load_checkpoint(save(tmp_path / "edited.pth.tar", {"network": state}))
    message = info.value.message
    assert "its tensors say SMPLer-X (tiny)" in message
    assert "missing (1): face_regressor.expr_out.0.bias" in message
    assert "unexpected (1): face_regressor.extra.weight" in message
    assert "wrong shape (1): hand_regressor.hand_pose_out.0.weight [45, 10300] (expected [90, 10300])" in message


def test_unknown_size_names_the_closest_one(tiny_network, tmp_path):
    state = {k: v for k, v in tiny_network.items() if ".blocks.1." not in k}  # a 1-block ViT: no such size
    with pytest.raises(ModelFileError, match=r"looks most like SMPLer-X \(tiny\) \(\d+ of 103 keys match\)"):
        load_checkpoint(save(tmp_path / "one_block.pth", {"network": state}))


def test_backend_table_picks_by_suffix_and_lists_what_it_supports(tiny_network, tmp_path):
    assert backend_for_file(Path("smpler_x_s32.pth.tar")).name == "torch"
    assert backend_for_file(Path("SMPLER_X.PTH")).name == "torch"
    with pytest.raises(UnsupportedFormatError) as info:
        backend_for_file(Path("model.tflite"))
    assert "torch: .pth.tar, .pth, .pt; onnxruntime: .onnx; tensorrt: .engine" in info.value.hint
    assert backend_for_file(Path("m.onnx")).name == "onnxruntime"
    assert backend_for_file(Path("m.engine")).name == "tensorrt"
    backend = load_backend(save(tmp_path / "tiny.pth.tar", {"network": tiny_network}), precision="fp32",
                           engines_dir=tmp_path / "engines")
    from mocap_app.backends.base import InferenceBackend
    from mocap_app.backends.torch_backend import TorchBackend

    assert isinstance(backend, InferenceBackend)
    assert TorchBackend.suffixes == backend_for_file(Path("a.pt")).suffixes
    backend.warmup()
    backend.close()


class _RunsCode:
    def __reduce__(self):
        return (print, ("this would have run",))


def test_a_file_carrying_code_is_refused_for_that_reason_not_called_corrupt(tmp_path):
    path = tmp_path / "smpler_x_s32.pth.tar"
    torch.save({"network": {"encoder.x": torch.zeros(1)}, "extra": _RunsCode()}, path)
    with pytest.raises(ModelFileError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "holds Python code or objects besides tensors (print)" in message
    assert "corrupt" not in message and "weights_only" not in message


def test_a_folder_named_like_a_checkpoint_is_called_a_folder(tmp_path):
    path = tmp_path / "smpler_x_s32.pth.tar"
    path.mkdir()
    with pytest.raises(ModelFileError, match="is a folder, not a file"):
        load_checkpoint(path)
