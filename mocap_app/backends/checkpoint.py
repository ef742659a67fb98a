"""Reading official SMPLer-X checkpoints (`smpler_x_{s,b,l,h}32.pth.tar`) into `models.smplerx.SMPLerX`.

An official file is a `torch.save` of `{'network': state_dict, ...}` written from a DistributedDataParallel model:
every key starts with `module.`. Older trainings named some modules differently (`backbone`, `*_rotation_net`);
the official loader renames them and drops the SMPL-X layer's buffers, and so do we. The size is read from the
tensors (embedding width and block count), then the file must match that size's network key for key and shape
for shape; anything else raises `ModelFileError` naming what is wrong.
"""

from __future__ import annotations

import functools
import logging
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import torch
from torch import Tensor

from mocap_app.core.errors import ModelFileError
from mocap_app.models.configs import CHECKPOINT_SOURCE
from mocap_app.models.smplerx import CONFIGS, SMPLerX, SmplerxConfig, build_smplerx

logger = logging.getLogger(__name__)

DOWNLOAD_HINT = ("Download an official SMPLer-X checkpoint (smpler_x_s32.pth.tar, _b32, _l32 or _h32) from "
                 f"{CHECKPOINT_SOURCE}, and pass that file unchanged.")
# Official renames (main/base.py, Tester/Demoer._make_model), applied after ensuring the `module.` prefix.
_RENAMES = (("module.backbone", "module.encoder"), ("body_rotation_net", "body_regressor"),
            ("hand_rotation_net", "hand_regressor"))
_LIST_LIMIT = 8  # keys listed per category in an error message


@dataclass(frozen=True)
class CheckpointReport:
    """How a state dict compares with one network size's keys.

    missing: keys the network needs that the file lacks. unexpected: keys the file has that the network lacks.
    wrong_shape: (key, file shape, network shape) for keys in both with different shapes.
    """

    config: SmplerxConfig
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    wrong_shape: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.wrong_shape)

    @property
    def num_matching(self) -> int:
        return len(expected_shapes(self.config.name)) - len(self.missing) - len(self.wrong_shape)


@functools.cache
def expected_shapes(size: str) -> MappingProxyType[str, tuple[int, ...]]:
    """Key → shape of the network's state dict (no `module.` prefix), in state-dict order; allocates nothing."""
    model = build_smplerx(size, device="meta")
    return MappingProxyType({key: tuple(value.shape) for key, value in model.state_dict().items()})


def normalize_keys(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Official key normalisation, then without the `module.` prefix; SMPL-X layer buffers are dropped."""
    normalized: dict[str, Tensor] = {}
    for key, value in state.items():
        if "smplx_layer" in key:
            continue
        name = key if "module" in key else f"module.{key}"
        for old, new in _RENAMES:
            name = name.replace(old, new)
        normalized[name.removeprefix("module.")] = value
    return normalized


def compare_with(state: dict[str, Tensor], size: str) -> CheckpointReport:
    expected = expected_shapes(size)
    missing = tuple(key for key in expected if key not in state)
    unexpected = tuple(key for key in state if key not in expected)
    wrong = tuple((key, tuple(state[key].shape), shape) for key, shape in expected.items()
                  if key in state and tuple(state[key].shape) != shape)
    return CheckpointReport(CONFIGS[size], missing, unexpected, wrong)


def detect_size(state: dict[str, Tensor]) -> str | None:
    """The size whose ViT width and depth the tensors show (encoder.pos_embed, encoder.blocks.N), or None."""
    pos_embed = state.get("encoder.pos_embed")
    if not isinstance(pos_embed, Tensor) or pos_embed.ndim != 3:
        return None
    blocks = {int(key.split(".")[2]) for key in state if key.startswith("encoder.blocks.")
              and key.split(".")[2].isdigit()}
    for name, config in CONFIGS.items():
        if config.embed_dim == pos_embed.shape[-1] and config.depth == len(blocks):
            return name
    return None


def closest_size(state: dict[str, Tensor]) -> CheckpointReport:
    """The report of the size the file matches best (most keys with the right shape)."""
    reports = [compare_with(state, size) for size in CONFIGS]
    return max(reports, key=lambda report: (report.num_matching, -len(report.unexpected)))


def _listing(label: str, items: list[str]) -> str:
    more = f" … and {len(items) - _LIST_LIMIT} more" if len(items) > _LIST_LIMIT else ""
    return f"{label} ({len(items)}): {', '.join(items[:_LIST_LIMIT])}{more}"


def _mismatch_error(source: str, report: CheckpointReport, detected: str | None) -> ModelFileError:
    parts = []
    if report.missing:
        parts.append(_listing("missing", list(report.missing)))
    if report.unexpected:
        parts.append(_listing("unexpected", list(report.unexpected)))
    if report.wrong_shape:
        parts.append(_listing("wrong shape", [f"{key} {list(got)} (expected {list(want)})"
                                              for key, got, want in report.wrong_shape]))
    looks = (f"its tensors say {CONFIGS[detected].title}" if detected
             else f"it looks most like {report.config.title} ({report.num_matching} of "
                  f"{len(expected_shapes(report.config.name))} keys match)")
    return ModelFileError(f"{source} does not match the SMPLer-X network: {looks}; " + "; ".join(parts) + ".",
                          DOWNLOAD_HINT)


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """The normalised tensors of a checkpoint file (no `module.` prefix). Raises ModelFileError for anything
    that is not a readable PyTorch file holding a state dict."""
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"Checkpoint {path} is a folder, not a file.",
                             "Pass the .pth.tar file itself (or the folder holding it as paths.checkpoints).")
    if not path.is_file():
        raise ModelFileError(f"Checkpoint {path} does not exist.", DOWNLOAD_HINT)
    with path.open("rb") as handle:
        head = handle.read(4)
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):  # zip (torch.save) or legacy pickle
        raise ModelFileError(f"{path} is not a PyTorch checkpoint file (it starts with {head!r}).", DOWNLOAD_HINT)
    try:
        try:
            # mmap: a 2.6 GB H checkpoint is paged in as read, not copied; weights_only: no code runs on load.
            payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            payload = torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except pickle.UnpicklingError as exc:
        # torch's weights-only unpickler refuses any global it does not allow; its message then advises turning the
        # check off, which we never do (a checkpoint is data: one that needs code is not an official file).
        if str(exc).startswith("Weights only load failed") or "nsupported global" in str(exc).lower():
            found = re.search(r"GLOBAL ([\w.]+)", str(exc), re.IGNORECASE)
            what = f" ({found.group(1)})" if found else ""
            raise ModelFileError(f"{path} holds Python code or objects besides tensors{what}; it is refused "
                                 "because loading it could run that code.", DOWNLOAD_HINT) from exc
        raise ModelFileError(f"{path} is corrupt and cannot be read ({_first_line(exc)}).",
                             "Download the file again; `python main.py doctor` shows the size it should have.") from exc
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, KeyError, IndexError) as exc:
        raise ModelFileError(f"{path} is truncated or corrupt and cannot be read ({_first_line(exc)}).",
                             "Download the file again; `python main.py doctor` shows the size it should have.") from exc
    # Official files keep the weights under 'network'; many other projects use 'state_dict'.
    state = (payload.get("network", payload.get("state_dict", payload)) if isinstance(payload, dict) else None)
    if not isinstance(state, dict) or not state or not all(isinstance(v, Tensor) for v in state.values()):
        kind = type(payload).__name__ if not isinstance(payload, dict) else f"a dict with keys {sorted(payload)[:6]}"
        raise ModelFileError(f"{path} holds {kind}, not a SMPLer-X state dict ('network': {{name: tensor}}).",
                             DOWNLOAD_HINT)
    return normalize_keys({str(key): value for key, value in state.items()})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def load_checkpoint(path: Path) -> SMPLerX:
    """Build the network of the checkpoint's size and load the file strictly; eval mode, on the CPU.

    Raises ModelFileError when the file is missing, unreadable, of another model or of a different layout.
    """
    path = Path(path)
    model = model_from_state_dict(read_state_dict(path), str(path))
    logger.info("loaded %s from %s", model.config.title, path)
    return model


def model_from_state_dict(state: dict[str, Tensor], source: str = "the checkpoint") -> SMPLerX:
    """The network whose size the normalised `state` shows, with `state` loaded strictly (tensors adopted, not
    copied; meta tensors give a meta model). `source` names the file in error messages."""
    if not any(key.startswith("encoder.") for key in state):
        sample = ", ".join(list(state)[:5])
        raise ModelFileError(f"{source} is not a SMPLer-X checkpoint: it has no encoder weights "
                             f"(first keys: {sample}).", DOWNLOAD_HINT)
    size = detect_size(state)
    report = compare_with(state, size) if size else closest_size(state)
    if size is None or not report.ok:
        raise _mismatch_error(source, report, size)
    model = build_smplerx(size, device="meta")
    # assign=True adopts the (memory-mapped) tensors instead of copying them into fresh storage.
    model.load_state_dict({key: value.float().contiguous() if value.is_floating_point() else value
                           for key, value in state.items()}, strict=True, assign=True)
    return model.eval()
