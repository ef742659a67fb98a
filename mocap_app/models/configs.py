"""The four released SMPLer-X sizes (and the test-only tiny one): one table, importable without torch
(doctor, the CLI's checks and the checkpoint loader read file names and parameter counts from it)."""

from __future__ import annotations

from dataclasses import dataclass

# Where a user gets the weights, and on what terms (said wherever the app asks for them).
CHECKPOINT_SOURCE = ("the \"Pretrained Models\" table of https://github.com/caizhongang/SMPLer-X (S-Lab License 1.0: "
                     "non-commercial use only)")


@dataclass(frozen=True)
class SmplerxConfig:
    """One network size. `checkpoint` is the official file name; `num_params` the parameter count (no buffers)."""

    name: str
    embed_dim: int
    depth: int
    num_heads: int
    checkpoint: str = ""
    num_params: int = 0
    mlp_ratio: int = 4

    @property
    def title(self) -> str:
        return f"SMPLer-X-{self.name.upper()}32" if self.checkpoint else f"SMPLer-X ({self.name})"


CONFIGS: dict[str, SmplerxConfig] = {
    "s": SmplerxConfig("s", 384, 12, 12, "smpler_x_s32.pth.tar", 32_008_024),
    "b": SmplerxConfig("b", 768, 12, 12, "smpler_x_b32.pth.tar", 102_939_928),
    "l": SmplerxConfig("l", 1024, 24, 16, "smpler_x_l32.pth.tar", 326_654_872),
    "h": SmplerxConfig("h", 1280, 32, 16, "smpler_x_h32.pth.tar", 661_827_096),
    # Test-only size of reference_tiny: S's layout with a 64-wide, 2-block ViT.
    "tiny": SmplerxConfig("tiny", 64, 2, 2),
}
