"""benchmarks/label_ceiling.py trains on a labelled split of its own: no held-out image is trained on."""

import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.label_ceiling import LABELLED_SEED, labelled_rows  # noqa: E402
from roles.answerer import answerer_messages, format_answer  # noqa: E402
from selfplay.builtin import WORLD_SPLITS  # noqa: E402
from selfplay.records import read_jsonl  # noqa: E402
from selfplay.world import generate  # noqa: E402


def test_labelled_rows_are_answerer_rows_on_images_the_eval_split_never_shows(tmp_path):
    assert LABELLED_SEED not in {seed for seed, _ in WORLD_SPLITS.values()}
    seed, n = WORLD_SPLITS["eval"]
    held_out = generate(tmp_path / "eval", domain="aerial", n=n, seed=seed)
    labelled = generate(tmp_path / "labelled", domain="aerial", n=150, seed=LABELLED_SEED)
    rows = labelled_rows(labelled, 40)
    qa = read_jsonl(labelled / "qa.jsonl")
    assert len(rows) == 40 and len({r["prompt"][0]["content"] for r in rows}) > 1
    pairs = {(answerer_messages(q["question"])[0]["content"], format_answer(q["answer"])) for q in qa}
    assert all((r["prompt"][0]["content"], r["completion"][0]["content"]) in pairs for r in rows)
    seen = {Image.open(held_out / r["image"]).tobytes() for r in read_jsonl(held_out / "manifest.jsonl")}
    assert not any(r["image"].tobytes() in seen for r in rows)


def test_with_image_size_writes_a_copy_whose_processor_keeps_the_side_asked(tiny_qwen, tmp_path):
    from transformers import AutoProcessor

    from benchmarks.image_size import with_image_size
    from selfplay.modeling import processor_pixel_cap

    before = {p.name: p.read_bytes() for p in Path(tiny_qwen).iterdir() if p.is_file()}
    sized = with_image_size(Path(tiny_qwen), 112, tmp_path / "model")
    processor = AutoProcessor.from_pretrained(sized)
    assert processor_pixel_cap(processor) == 112 * 112
    grid = processor.image_processor(images=[Image.new("RGB", (56, 56))], return_tensors="pt")["image_grid_thw"]
    assert grid.tolist() == [[1, 8, 8]]  # 16 image tokens after the 2 x 2 merge, not 4
    assert (sized / "model.safetensors").is_symlink()
    assert {p.name: p.read_bytes() for p in Path(tiny_qwen).iterdir() if p.is_file()} == before
