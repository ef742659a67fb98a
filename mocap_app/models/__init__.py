"""Pure PyTorch networks (no file I/O, no device logic): SMPLer-X in four sizes (`models.smplerx`).

The size table (`models.configs`) imports without torch; import `models.smplerx` for the network itself.
"""

from .configs import CONFIGS, SmplerxConfig

__all__ = ["CONFIGS", "SmplerxConfig"]
