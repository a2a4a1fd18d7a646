"""The copy stage of the warm-start experiments (benchmarks/copy_stage.py), on the tiny model."""

import logging

import torch


def test_copy_stage_trains_plain_then_framed_rows_in_chunks_and_reports_each(tiny_qwen, caplog):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from selfplay.broad_reading import copy_rows, made_up_word
    from benchmarks.copy_stage import copy_stage

    model = AutoModelForImageTextToText.from_pretrained(tiny_qwen, dtype=torch.float32)
    processor = AutoProcessor.from_pretrained(tiny_qwen)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    chunks = []
    with caplog.at_level(logging.INFO, logger="selfplay.warmstart.copy"):
        copy_stage(model, processor, 3, 2, scenes=20, every=2, word=made_up_word, after_chunk=chunks.append)
    assert chunks == [2, 3, 5]  # chunks of `every`, cut at the end of the plain part
    stages = [r.getMessage() for r in caplog.records if "rows" in r.getMessage()]
    assert len(stages) == 2 and "made-up frames" not in stages[0] and "made-up frames" in stages[1]
    plain, framed = (len(copy_rows(20, seed=0, word=made_up_word, frames=frames)) for frames in (False, True))
    assert plain != framed and stages[0].startswith(f"copy stage: {plain} rows,") and \
        stages[1].startswith(f"copy stage: {framed} rows in made-up frames")  # the rows each part names
    assert any("5/5 steps" in r.getMessage() for r in caplog.records)
    assert any(not torch.equal(before[name], p) for name, p in model.named_parameters())
