"""Shared fixtures for the SMPLer-X tests: the official tiny reference (weights, input, outputs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parents[1] / "data" / "smplerx"


@pytest.fixture(scope="session")
def reference() -> dict[str, dict[str, torch.Tensor] | torch.Tensor]:
    """weights (official key layout), input crop (1, 3, 512, 384) and the official forward's tensors."""
    return {
        "weights": torch.load(DATA / "weights.pt", weights_only=True)["network"],
        "input": torch.load(DATA / "input.pt", weights_only=True),
        "outputs": torch.load(DATA / "outputs.pt", weights_only=True),
    }


@pytest.fixture(scope="session")
def tiny_model(reference):
    """The tiny network with the reference weights, eval mode."""
    from mocap_app.models.smplerx import build_smplerx

    model = build_smplerx("tiny")
    model.load_state_dict({k.removeprefix("module."): v for k, v in reference["weights"].items()}, strict=True)
    return model


@pytest.fixture(autouse=True)
def two_torch_threads():
    """The reference was computed with 2 threads; the thread count changes float summation order.

    MOCAP_TEST_TORCH_THREADS (tests/conftest.py) overrides the 2, to check the tolerances at other counts.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("MOCAP_TEST_TORCH_THREADS") or 2))
    yield
    torch.set_num_threads(previous)
