"""The learning table's target checks (benchmarks/learning.py, issue 16): each target is computed on
sight (accuracy minus blind accuracy) and says plainly whether it is met."""

import argparse

import pytest

from benchmarks.learning import changed_settings, common_rounds, json_settings, recorded_seconds
from benchmarks.learning_report import summarise, target_checks


def _round(accuracy: float, blind: float) -> dict:
    return {"round": 0, "accuracy": accuracy, "blind_accuracy": blind, "chance": 0.4,
            "pseudo_label": {"coverage": 1.0, "reference": 0.5, "borrowed": 0.5, "silver": 0.5},
            "question_diversity": 0.5}


def _runs(base: tuple, finals: dict[str, tuple], middle: tuple | None = None) -> dict:
    """Three seeds; every arm starts at `base`, may pass `middle`, and ends at its final."""
    return {seed: {arm: {"rounds": [_round(*base)] + ([_round(*middle)] if middle else []) + [_round(*final)],
                         "pseudo_label_run": {"kept_target": 0.5}}
                   for arm, final in finals.items()} for seed in range(3)}


def _met(checks: list[dict]) -> dict[str, bool]:
    return {c["target"]: c["met"] for c in checks}


def test_a_table_that_learns_to_see_meets_every_target():
    # base sees 5 points; supervised ends 20 points over blind (gain 15), self-play text 18 (gain 13 = 87%),
    # images 12 (gain 7 = 47%), blind never moves
    finals = {"supervised": (0.60, 0.40), "selfplay_text": (0.58, 0.40), "selfplay_images": (0.52, 0.40)}
    results = {d: _runs((0.45, 0.40), finals) for d in ("scan", "aerial")}
    checks = target_checks(summarise(results), results, 0.30, 30 * 60, 3)
    assert all(_met(checks).values()), [c for c in checks if not c["met"]]


def test_priors_learned_instead_of_sight_fail_the_sight_and_blind_targets():
    # accuracy rises 15 points, but blind rises with it: no sight gained, blind 15 points off the base
    finals = {arm: (0.60, 0.55) for arm in ("supervised", "selfplay_text", "selfplay_images")}
    results = {"aerial": _runs((0.45, 0.40), finals)}
    met = _met(target_checks(summarise(results), results, 0.30, 30 * 60, 3))
    assert not met["supervised sight gain >= 10 points on aerial"]
    assert not met["blind accuracy of every arm within 3 points of the base's on aerial"]
    assert not met["selfplay_text sight gain >= 80% of supervised's on aerial"]  # nothing to recover
    assert met["base sight > 0 on aerial"] and met["base sight >= 25 points on source"]


def test_a_round_that_falls_and_a_missing_source_figure_are_not_met():
    finals = {"supervised": (0.60, 0.40), "selfplay_text": (0.57, 0.40), "selfplay_images": (0.51, 0.40)}
    results = {"scan": _runs((0.45, 0.40), finals, middle=(0.62, 0.40))}  # best mid-run, 2-11 points lost after
    checks = target_checks(summarise(results), results, None, 50 * 60, 1)
    met = _met(checks)
    assert not met["per seed on scan, no round loses more than 2 points of accuracy or of sight"]
    assert not met["per seed on scan, the final round within 1 point of the run's best"]
    assert not met["base sight >= 25 points on source"] and not met["3 seeds"]
    assert not met["the full table in at most 40 minutes on 2 CPU cores"]
    assert met["supervised sight gain >= 10 points on scan"]


def test_a_settings_option_with_bad_json_says_where_and_the_usual_cause():
    """A regex pasted with single backslashes is the usual mistake: the error says where and how to write one."""
    assert json_settings(r'{"lora_target_modules": "attn\\.proj"}') == {"lora_target_modules": r"attn\.proj"}
    with pytest.raises(argparse.ArgumentTypeError, match=r"Invalid \\escape at character 29; JSON writes a backslash"):
        json_settings(r'{"lora_target_modules": "attn\.proj"}')
    with pytest.raises(argparse.ArgumentTypeError, match="must be a JSON object"):
        json_settings("[16]")


def test_runs_stopped_part_way_are_compared_at_the_last_evaluation_all_reached():
    """A table cut off at a deadline (learning.py --from-runs): a run one evaluation ahead is cut back, so
    every arm's final figure is from the same round."""
    finals = {"supervised": (0.60, 0.40), "selfplay_text": (0.58, 0.40), "selfplay_images": (0.52, 0.40)}
    results = {"aerial": _runs((0.45, 0.40), finals, middle=(0.50, 0.40))}
    results["aerial"][0]["supervised"]["rounds"].append(_round(0.70, 0.40))  # one run got further
    for run in results["aerial"][1].values():
        run["rounds"].pop()  # seed 1 got as far as the middle evaluation only
    cut = common_rounds(results)
    assert {len(run["rounds"]) for seeds in cut.values() for arms in seeds.values() for run in arms.values()} == {2}
    assert cut["aerial"][0]["supervised"]["rounds"][-1]["accuracy"] == 0.50
    assert len(results["aerial"][0]["supervised"]["rounds"]) == 4  # the input is left whole


def test_a_resumed_table_is_timed_by_its_runs_records(tmp_path):
    """learning.py --resume and --from-runs: the pauses between sittings are not the table's time; each
    round's own seconds, playing and evaluating, are (as the run records them), and a run not started yet
    counts nothing."""
    from selfplay.records import write_jsonl

    write_jsonl(tmp_path / "metrics.jsonl", [{"time/round": 60.0, "time/eval": 20.0, "p": 0.4}, {"time/round": 58.5}])
    assert recorded_seconds(tmp_path) == 138.5
    assert recorded_seconds(tmp_path / "not-started") == 0.0


def test_a_resumed_table_refuses_a_run_started_with_other_settings(tmp_path):
    """Arms resumed at another rate or with other options would not have been run alike: every such change is
    named; more rounds, or another place for the cache, are not changes of the run."""
    from selfplay.config_parser import from_dict, write_resolved

    started = {"output_dir": str(tmp_path), "model": {"path": "builtin:shapes-qwen2_vl"},
               "data": {"source": "builtin:shapes-scan"}, "train": {"learning_rate": 2.5e-4}, "game": {"rounds": 20}}
    write_resolved(from_dict(started), tmp_path / "config.yaml")
    assert changed_settings(tmp_path, {**started, "game": {"rounds": 30}, "checkpoint": {"resume": "auto"}}) == []
    assert changed_settings(tmp_path, {**started, "train": {"learning_rate": 5e-4}, "game": {"rounds": 20,
                                                                                         "blind_answers": 4}}) == [
        "game.blind_answers: 2 -> 4", "train.learning_rate: 0.00025 -> 0.0005"]
    assert changed_settings(tmp_path / "not-started", {**started, "train": {"learning_rate": 5e-4}}) == []
    moved = {**started, "data": {"source": "builtin:shapes-aerial"}}  # another path, as a one-arm run's model
    assert changed_settings(tmp_path, moved) == ["data.source: 'builtin:shapes-scan' -> 'builtin:shapes-aerial'"]
    assert changed_settings(tmp_path, moved, also_allowed=("data.source",)) == []  # paths, as --from-runs allows


def test_the_table_shows_sight_per_question_type_and_blind_answers_in_form():
    """A gain on one type can hide a loss on another, and sight also rises when the blank image stops being
    answered in form: the markdown shows both, from the same final rounds the headline uses."""
    from benchmarks.learning_report import markdown

    def typed(attribute: tuple, count: tuple, in_form: float) -> dict:
        return {**_round((attribute[0] + count[0]) / 2, (attribute[1] + count[1]) / 2), "blind_in_form": in_form,
                "by_type": {"all": 0.0, "attribute": attribute[0], "count": count[0]},
                "blind_by_type": {"all": 0.0, "attribute": attribute[1], "count": count[1]}}

    base = typed((0.30, 0.00), (0.35, 0.35), 0.84)
    finals = {"supervised": typed((0.80, 0.50), (0.30, 0.34), 0.98),
              "selfplay_text": typed((0.55, 0.17), (0.34, 0.36), 0.55),
              "selfplay_images": typed((0.30, 0.10), (0.35, 0.35), 0.90)}
    results = {"scan": {seed: {arm: {"rounds": [base, final], "pseudo_label_run": {"kept_target": 0.5}}
                               for arm, final in finals.items()} for seed in range(3)}}
    args = argparse.Namespace(rounds=20, seeds=[0, 1, 2], items=128, answerer_steps=16, lr=2.5e-4, command="",
                              hardware="2 CPU cores", source_sight=0.3)
    text = markdown(summarise(results), results, args, 600.0)
    assert "| scan | attribute | count |" in text
    assert "| base | +30.0 (0.30 / 0.00) | +0.0 (0.35 / 0.35) |" in text
    assert "| supervised | +30.0 (0.80 / 0.50) | -4.0 (0.30 / 0.34) |" in text
    assert "| 0.265 (55%) |" in text  # self-play with text: its blind answers half out of form
    assert text.count("Per question type") == 1 and text.count("Per evaluated round") == 1
