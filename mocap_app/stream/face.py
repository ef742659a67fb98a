"""Face values for VRM's blend-shape presets, from what a record measures.

The records (`core.params.SmplxParams`) measure the face through `jaw_pose` (the landmark fit and SMPL-X both
open the jaw about its x axis) and `expression`, SMPL-X's PCA coefficients, whose components have no agreed
meaning, so no preset is read from them. The mouth is therefore sent as its opening, "A", with the other vowel
presets at 0 (the receiver shows our mouth, not a leftover shape). No record measures the eyelids: Blink,
Blink_L and Blink_R are not sent, so a receiver's own blinking (VSeeFace, EVMC4U's auto-blink) is left alone.
"""

from __future__ import annotations

import numpy as np

from mocap_app.core.params import SmplxParams

MOUTH_PRESETS = ("A", "I", "U", "E", "O")  # VRM 0.x BlendShapePreset names, case as UniVRM expects
JAW_WIDE_OPEN_RAD = 0.45  # a mouth about 4 cm open (the landmark fit's jaw-to-lip length, 9 cm, turned 0.45 rad)


def blend_values(params: SmplxParams) -> dict[str, float]:
    """preset name → weight in [0, 1] for `params`' face."""
    opening = float(np.clip(params.jaw_pose[0] / JAW_WIDE_OPEN_RAD, 0.0, 1.0))
    return {"A": opening, **{name: 0.0 for name in MOUTH_PRESETS[1:]}}
