"""`process --checkpoint FILE`: any SMPLer-X file, its size read from its tensors; refusals say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from mocap_app.core.config import load_config
from mocap_app.core.errors import ConfigError, ModelFileError
from mocap_app.pipeline.process import ProcessOptions, build_estimators, check_request, close_all

TINY = Path(__file__).resolve().parents[1] / "data" / "smplerx" / "weights.pt"  # official layout, tiny size


def test_a_checkpoint_file_runs_smplerx_of_its_own_size(tmp_path: Path) -> None:
    config = load_config(None, [f"paths.body_models={tmp_path}"])
    options = ProcessOptions.from_settings(config, checkpoint=TINY)
    check_request([], options, config)
    estimators = build_estimators(options, config)
    try:
        assert [e.size for e in estimators] == ["tiny"]
    finally:
        close_all(estimators)


def test_a_checkpoint_of_another_size_than_model_is_refused(tmp_path: Path) -> None:
    config = load_config(None, [f"paths.body_models={tmp_path}"])
    options = ProcessOptions.from_settings(config, model="smplerx-s", checkpoint=TINY)
    with pytest.raises(ModelFileError, match="holds smplerx-tiny, but --model asks for smplerx-s"):
        build_estimators(options, config)


def test_checkpoint_refusals_name_the_problem(tmp_path: Path) -> None:
    config = load_config(None, [f"paths.checkpoints={tmp_path}"])
    with pytest.raises(ConfigError, match="--model default runs MediaPipe"):
        ProcessOptions.from_settings(config, model="default", checkpoint=TINY)
    folder = tmp_path / "smpler_x_s32.pth.tar"
    folder.mkdir()
    for options in (ProcessOptions.from_settings(config, checkpoint=folder),
                    ProcessOptions.from_settings(config, model="smplerx-s")):
        with pytest.raises(ModelFileError, match="is a folder, not a file"):
            check_request([], options, config)
    with pytest.raises(ModelFileError, match="does not exist") as info:
        check_request([], ProcessOptions.from_settings(config, checkpoint=tmp_path / "absent.pth.tar"), config)
    assert "--checkpoint" in info.value.hint
