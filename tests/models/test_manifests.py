"""Our state-dict layout against the official checkpoints' manifests (tests/data/smplerx/keys_*.json)."""

from __future__ import annotations

import json

import pytest
import torch

from mocap_app.backends.checkpoint import detect_size, model_from_state_dict, normalize_keys
from mocap_app.models.smplerx import CONFIGS, build_smplerx

from .conftest import DATA


def manifest(size: str) -> tuple[dict[str, list[int]], int]:
    entries = json.loads((DATA / f"keys_{size}.json").read_text())
    total = entries.pop("total_params")
    return entries, total


@pytest.mark.parametrize("size", ["s", "b", "l", "h"])
def test_state_dict_keys_order_and_shapes_equal_the_manifest(size):
    entries, total = manifest(size)
    model = build_smplerx(size, device="meta")
    ours = {f"module.{key}": list(value.shape) for key, value in model.state_dict().items()}
    assert list(ours) == list(entries)  # same keys in the same order
    assert ours == entries
    assert sum(p.numel() for p in model.parameters()) == total == CONFIGS[size].num_params


@pytest.mark.parametrize("size", ["s", "b", "l", "h"])
def test_manifest_shaped_state_dict_loads_strictly_and_the_size_is_detected(size):
    entries, _ = manifest(size)
    state = {key: torch.empty(shape, device="meta", dtype=torch.int64 if key.endswith("num_batches_tracked")
                              else torch.float32) for key, shape in entries.items()}
    normalized = normalize_keys(state)
    assert detect_size(normalized) == size
    model = model_from_state_dict(normalized)
    assert model.config.name == size
    assert all(p.is_meta for p in model.parameters())
