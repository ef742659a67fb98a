"""Face values for VRM's blend-shape presets, and the ARKit shapes themselves, from what a record measures.

A record (`core.params.SmplxParams`) carries the face as `face_weights`, the 52 ARKit blend-shape weights
(`core.face.ARKIT_SHAPES`) of estimators that read them (zeros from those that do not), and always as `jaw_pose`
(the landmark fit and SMPL-X open the jaw about its x axis). `expression`, SMPL-X's PCA coefficients, has no
agreed meaning per component and is not read.

- With ARKit weights: they are sent under their own names (the "perfect sync" clips of VSeeFace-style avatars),
  and VRM 0.x presets are made from them: Blink = the eyes' common closure, Blink_L / Blink_R the rest of each
  eye's (the presets add up on an avatar, so each eye closes by its ARKit weight, not twice); the vowels,
  roughly, from the mouth shapes that form them: A jawOpen, I mouthSmile (lips spread), U mouthPucker,
  E mouthStretch, O mouthFunnel (left and right averaged).
- Without: the mouth is sent as its opening, "A", from the jaw, the other vowels at 0 (the receiver shows our
  mouth, not a leftover shape); blinks are not sent, so a receiver's own blinking (VSeeFace, EVMC4U's auto-blink)
  goes on.
"""

from __future__ import annotations

import numpy as np

from mocap_app.core.face import ARKIT_INDEX, ARKIT_SHAPES
from mocap_app.core.params import SmplxParams

MOUTH_PRESETS = ("A", "I", "U", "E", "O")  # VRM 0.x BlendShapePreset names, case as UniVRM expects
JAW_WIDE_OPEN_RAD = 0.45  # a mouth about 4 cm open (the landmark fit's jaw-to-lip length, 9 cm, turned 0.45 rad)
_VOWEL_SHAPES = {"A": ("jawOpen",), "I": ("mouthSmileLeft", "mouthSmileRight"), "U": ("mouthPucker",),
                 "E": ("mouthStretchLeft", "mouthStretchRight"), "O": ("mouthFunnel",)}


def blend_values(params: SmplxParams) -> dict[str, float]:
    """blend-shape name → weight in [0, 1] for `params`' face (VRM presets, then ARKit names when measured)."""
    arkit = np.clip(params.face_weights.astype(np.float64), 0.0, 1.0)
    if not arkit.any():
        opening = float(np.clip(params.jaw_pose[0] / JAW_WIDE_OPEN_RAD, 0.0, 1.0))
        return {"A": opening, **{name: 0.0 for name in MOUTH_PRESETS[1:]}}
    weight = {name: float(arkit[i]) for name, i in ARKIT_INDEX.items()}
    both = min(weight["eyeBlinkLeft"], weight["eyeBlinkRight"])
    presets = {preset: float(np.mean([weight[s] for s in shapes])) for preset, shapes in _VOWEL_SHAPES.items()}
    presets |= {"Blink": both, "Blink_L": weight["eyeBlinkLeft"] - both, "Blink_R": weight["eyeBlinkRight"] - both}
    return presets | {name: weight[name] for name in ARKIT_SHAPES}
