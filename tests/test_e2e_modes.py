"""Two game settings played end to end on the tiny model, one short round each: the answerer blinded
by no image at all (game.blind_mode none), and images without paired text (silver-label targets)."""

import json

from selfplay import engine as engine_module
from selfplay.config_parser import from_dict
from selfplay.runner import main


def test_image_only_run_with_no_image_for_the_blind(warm_qwen, shapes_world, tmp_path, monkeypatch):
    items = [json.loads(line) for line in (shapes_world / "manifest.jsonl").read_text().splitlines()][:4]
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps({"id": row["id"], "image": str(shapes_world / row["image"])}) + "\n"
                                for row in items))
    calls = []  # (role, samples per prompt, which prompts carry an image)
    real_generate = engine_module.HFEngine.generate

    def generate(self, role, prompts, n, max_new_tokens):
        calls.append((role, n, [p.image is not None for p in prompts]))
        return real_generate(self, role, prompts, n, max_new_tokens)

    monkeypatch.setattr(engine_module.HFEngine, "generate", generate)
    out = tmp_path / "run"
    main(from_dict({
        "output_dir": str(out), "model": {"path": str(warm_qwen)}, "data": {"source": str(manifest)},
        "game": {"rounds": 1, "items_per_round": 4, "questions_per_item": 4, "answers_per_question": 4,
                 "blind_answers": 2, "blind_mode": "none"},
        "rewards": {"keep_band": [0.0, 1.0]},
        "eval": {"data": str(shapes_world / "qa.jsonl"), "max_questions": 4},
    }))
    # ask (4 per item), sighted answers (4), blind answers (2); the evaluations answer once each, twice
    # (sighted, blind) before the round and twice after it
    assert [(role, n) for role, n, _ in calls] == [("answerer", 1)] * 2 + [
        ("questioner", 4), ("answerer", 4), ("answerer", 2)] + [("answerer", 1)] * 2
    ask, sighted, blind = calls[2:5]
    assert all(ask[2]) and len(ask[2]) == 4 and all(sighted[2])
    assert len(blind[2]) == len(sighted[2]) > 0 and not any(blind[2])  # blind prompts carry no image
    assert all(calls[0][2]) and not any(calls[1][2]) and all(calls[5][2]) and not any(calls[6][2])

    games = [json.loads(line) for line in (out / "games.jsonl").read_text().splitlines()]
    asked = [g for g in games if g["question"] is not None]
    assert len(asked) == len(sighted[2]) and all(g["text"] is None for g in games)
    # without text the answerers' majority is the target, and a borrowed question has no reference
    assert all(g["target"] == g["silver"] is not None for g in asked)
    borrowed = [g for g in games if g["borrowed"]]
    assert borrowed and all(g["reference"] is None for g in borrowed)
    assert all(len(g["blind_answers"]) == 2 for g in asked)
