"""Where the user's SMPL-X model files are looked for: a check that needs neither torch nor smplx (the app asks it
at every start; loading the model is `smplx_model.SmplxModel`)."""

from __future__ import annotations

from pathlib import Path

from mocap_app.core.errors import BodyModelError

GENDERS = ("neutral", "male", "female")


def smplx_model_path(body_models: Path, gender: str = "neutral") -> Path:
    """`body_models/smplx/SMPLX_<GENDER>.npz` — where the app looks for one gender's model file."""
    if gender not in GENDERS:
        raise BodyModelError(f"Unknown SMPL-X gender {gender!r}.", f"Choose one of {', '.join(GENDERS)}.")
    return Path(body_models) / "smplx" / f"SMPLX_{gender.upper()}.npz"


def available_genders(body_models: Path) -> list[str]:
    """Genders whose model file is present in `body_models` (not checked for damage)."""
    return [g for g in GENDERS if smplx_model_path(body_models, g).is_file()]
