"""The `feet` setting: exports made with feet = lock are cleaned up (once) on the exported body's skeleton."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap_app.body import motions
from mocap_app.core.config import AppConfig, load_config
from mocap_app.core.errors import ConfigError
from mocap_app.export import ExportOptions, load_exported_npz
from mocap_app.pipeline.evaluation.feet import CAMERA, FeetNoise, corrupt
from mocap_app.pipeline.exporting import export_with_body


@pytest.fixture(scope="module")
def estimate():
    return corrupt(motions.place_grounded(motions.walk(60), CAMERA), FeetNoise(), seed=3)


def test_lock_writes_the_cleaned_clip_with_its_contacts_and_off_writes_it_as_it_is(estimate, tmp_path):
    locked, _ = export_with_body(estimate, tmp_path / "lock.npz", ExportOptions(), tmp_path, feet="lock")
    plain, _ = export_with_body(estimate, tmp_path / "off.npz", ExportOptions(), tmp_path, feet="off")
    cleaned, raw = load_exported_npz(locked), load_exported_npz(plain)
    assert cleaned.foot_contact is not None and cleaned.foot_contact.any() and "feet" in cleaned.source
    assert raw.foot_contact is None and np.array_equal(raw.transl, estimate.transl)
    # Exporting the cleaned clip again leaves it as it is.
    again, _ = export_with_body(cleaned, tmp_path / "again.npz", ExportOptions(), tmp_path, feet="lock")
    assert np.array_equal(load_exported_npz(again).full_pose(), cleaned.full_pose())


def test_feet_setting_defaults_to_lock_and_refuses_other_words(estimate, tmp_path: Path):
    assert AppConfig().feet.mode == "lock"
    path = tmp_path / "settings.toml"
    path.write_text('[feet]\nmode = "glue"\n')
    with pytest.raises(ConfigError, match="glue"):
        load_config(path)
    with pytest.raises(ConfigError) as error:
        export_with_body(estimate, tmp_path / "x.npz", ExportOptions(), tmp_path, feet="glue")
    assert error.value.hint
