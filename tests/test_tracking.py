"""A tracker whose package is missing stops the run before anything loads, naming the extra to install."""

from selfplay import tracking
from selfplay.run import run


def test_missing_tracker_package_is_an_error_naming_the_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(tracking, "_installed", lambda package: package != "wandb")
    assert run(["--report_to", "wandb", "--output_dir", str(tmp_path / "run")]) == 2
    assert "report_to: wandb needs the wandb package: pip install 'selfplay[wandb]'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing was written, nothing was built
