"""What both domains of `selfplay prepare` share, with a stand-in converter: the folder checks, the walk,
a file in the manifest whole or not at all, masked skip reasons, the summary."""

import json

import pytest
from PIL import Image

from selfplay.prepare import (MANIFEST_FILE, SUMMARY_FILE, Item, PrepareError, check_folders, convert_folder,
                              walk)
from selfplay.records import SKIPPED_FILE, read_jsonl


def test_check_folders_refuses_a_missing_src_a_non_empty_out_and_src_itself(tmp_path):
    src = tmp_path / "src"
    (src / "inner").mkdir(parents=True)
    with pytest.raises(PrepareError, match="does not exist"):
        check_folders(tmp_path / "missing", tmp_path / "out", False)
    with pytest.raises(PrepareError, match="must not be the source folder"):
        check_folders(src, src, False)
    with pytest.raises(PrepareError, match="must not be the source folder"):
        check_folders(src / "inner", src, False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(PrepareError, match="not empty; pass --overwrite"):
        check_folders(src, tmp_path / "full", False)
    assert check_folders(src, tmp_path / "full", True) == (src, tmp_path / "full")
    assert check_folders(src, src / "inner", False) == (src, src / "inner")  # inside SRC is fine


def test_walk_is_sorted_and_leaves_out_hidden_files_and_out(tmp_path):
    for name in ("b/2.png", "a.png", "b/1.png", ".hidden/x.png", "b/.x.png", "out/old.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    files = walk(tmp_path, tmp_path / "out")
    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["a.png", "b/1.png", "b/2.png"]


def test_a_file_that_fails_part_way_loses_all_its_items_and_its_reason_is_masked(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    for name in ("good", "bad"):
        (src / name).write_text("x")

    def convert(path, source):
        yield Item(f"{source}/0", Image.new("L", (4, 4)), "text", source, {"part": 0})
        if path.name == "bad":
            raise ValueError(f"{path}: broken after one tile (read by Dr. Lee on 2019-03-04)")
        yield Item(f"{source}/1", Image.new("L", (4, 4)), None, source, {"part": 1})

    summary = convert_folder("test", src, out, walk(src, out), 3, convert, previews=1, options={"k": 1})
    assert read_jsonl(out / MANIFEST_FILE) == [
        {"id": "good/0", "image": "images/good/0.png", "text": "text", "source": "good", "part": 0},
        {"id": "good/1", "image": "images/good/1.png", "text": None, "source": "good", "part": 1}]
    assert read_jsonl(out / SKIPPED_FILE) == [
        {"file": "bad", "reason": "broken after one tile (read by Dr. [NAME] on [DATE])"}]
    written = sorted(p.relative_to(out).as_posix() for p in (out / "images").rglob("*.png"))
    assert written == ["images/good/0.png", "images/good/1.png"]  # bad's first tile was removed
    assert json.loads((out / SUMMARY_FILE).read_text()) == {
        "domain": "test", "src": str(src), "options": {"k": 1}, "files": 2, "converted": 2, "skipped": 1,
        "without_text": 1, "ignored": 3}
    assert (summary.converted, summary.without_text, summary.previews) == (2, 1, 1)
    lines = summary.lines()
    assert lines[0] == f"prepare test: 2 images from 2 files in {src} -> {out / MANIFEST_FILE}"
    assert lines[1] == f"skipped 1 file: broken after one tile (1); see {out / SKIPPED_FILE}"
    assert "ignored 3 files" in lines[3] and (out / "previews" / "sheet.png").is_file()
