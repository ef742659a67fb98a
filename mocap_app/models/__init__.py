"""Pure PyTorch networks (no file I/O, no device logic): SMPLer-X in four sizes."""

from .smplerx import CONFIGS, OUTPUT_NAMES, SMPLerX, SmplerxConfig, build_smplerx, decode_outputs

__all__ = ["CONFIGS", "OUTPUT_NAMES", "SMPLerX", "SmplerxConfig", "build_smplerx", "decode_outputs"]
