"""selfplay.manifest on real manifests and files written with PIL: bad lines and images skipped and recorded."""

import json
import logging

import pytest
from image_files import noisy_jpeg, noisy_png

from selfplay.images import load_image
from selfplay.manifest import DataError, ImageTextData, read_items, shard
from selfplay.records import SKIPPED_FILE

BUDGET = 256 * 256


def write_manifest(path, rows):
    """Rows are dicts (dumped as JSON) or raw bytes (written as they are)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [row if isinstance(row, bytes) else json.dumps(row).encode() for row in rows]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def good_images(folder, n):
    return [noisy_png(folder / f"good{i}.png", (8, 8)) for i in range(n)]


def read_skipped(output_dir):
    return [json.loads(line) for line in (output_dir / SKIPPED_FILE).read_text().splitlines()]


# --- manifests ---------------------------------------------------------------------------------


def test_manifest_problems_are_skipped_by_line(tmp_path, caplog):
    good = noisy_png(tmp_path / "good.png", (8, 8))
    manifest = write_manifest(
        tmp_path / "m.jsonl",
        [
            {"image": "good.png", "text": "ok"},
            b'{"image": "good.png", "text": "caf\xe9"}',
            b'{"image": "good.png", "text": ',
            {"text": "no image"},
            {"image": "good.png", "text": 5},
            {"image": 7},
            [1, 2],
            {"image": str(good), "text": "   "},
            {"image": str(good)},
        ],
    )
    with caplog.at_level(logging.WARNING, logger="selfplay.manifest"):
        items, skipped = read_items(manifest, require_text=True)
    assert [item.line for item in items] == [1]
    reasons = {record["line"]: record["reason"] for record in skipped}
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 8, 9}
    assert "not valid UTF-8" in reasons[2]
    assert "invalid JSON" in reasons[3] and "invalid JSON" in reasons[7]
    assert "missing field 'image'" in reasons[4]
    assert "wrong field type" in reasons[5] and "'text'" in reasons[5]
    assert "wrong field type" in reasons[6] and "'image'" in reasons[6]
    assert "empty text" in reasons[8] and "empty text" in reasons[9]
    assert all(record["source"] == str(manifest) for record in skipped)
    assert all(set(record) == {"source", "line", "id", "image", "reason"} for record in skipped)
    assert f"{manifest} line 2: not valid UTF-8" in caplog.text

    items, skipped = read_items(manifest)  # text is optional now
    assert [item.line for item in items] == [1, 8, 9]
    assert items[2].text is None and items[1].text == "   "


def test_relative_and_absolute_paths_and_ids(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "set"
    rel = noisy_png(folder / "imgs" / "a.png", (8, 8))
    absolute = noisy_png(tmp_path / "elsewhere" / "b.png", (8, 8))
    manifest = write_manifest(
        folder / "m.jsonl",
        [{"image": "imgs/a.png", "text": "t", "id": "x"}, {"image": str(absolute)}, {"image": "imgs/a.png", "id": "x"}],
    )
    monkeypatch.chdir(tmp_path)
    items, skipped = read_items(manifest.relative_to(tmp_path))
    assert skipped == []
    assert [item.image_path for item in items] == [rel, absolute, rel]
    assert [item.id for item in items] == ["x", "2", "x_2"]
    assert items[0].source == str(manifest) and items[0].text == "t"
    load_image(items[0].image_path, max_pixels=BUDGET)


def test_imagefolder_form(tmp_path):
    folder = tmp_path / "folder"
    noisy_png(folder / "train" / "cat.png", (8, 8))
    noisy_png(folder / "dog.png", (8, 8))
    write_manifest(
        folder / "metadata.jsonl",
        [{"file_name": "train/cat.png", "text": "a cat"}, {"file_name": "dog.png", "id": "d1"}, {"image": "dog.png"}],
    )
    data = ImageTextData.open(folder, output_dir=tmp_path / "out", max_pixels=BUDGET, max_bad_share=0.5)
    assert [(item.id, item.text) for item in data.items] == [("cat", "a cat"), ("d1", None)]
    assert data.items[0].image_path == folder / "train" / "cat.png"
    assert read_skipped(tmp_path / "out") == [
        {"source": str(folder), "line": 3, "id": None, "image": None, "reason": "missing field 'file_name'"}
    ]
    assert data.image(data.items[0]).mode == "RGB"


def test_unknown_source_is_an_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_items(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="metadata.jsonl"):
        read_items(tmp_path)
    (tmp_path / "list.txt").write_text("a.png\n")
    with pytest.raises(DataError, match="list.txt"):
        read_items(tmp_path / "list.txt")


# --- the data set: verification, records and the bad share -------------------------------------


def test_open_skips_bad_images_and_records_them(tmp_path, caplog):
    images = tmp_path / "images"
    rows = [{"image": str(p), "text": "t"} for p in good_images(images, 8)]
    (images / "zero.png").write_bytes(b"")
    rows.append({"image": "images/zero.png", "id": "z"})
    rows.append({"image": "images/missing.png"})
    manifest = write_manifest(tmp_path / "m.jsonl", rows)
    out = tmp_path / "run" / "out"
    with caplog.at_level(logging.INFO, logger="selfplay.manifest"):
        data = ImageTextData.open(manifest, output_dir=out, max_pixels=BUDGET, max_bad_share=0.2)
    assert len(data) == 8 and len(data.skipped) == 2
    records = read_skipped(out)
    assert records == data.skipped
    assert records[0] == {
        "source": str(manifest), "line": 9, "id": "z", "image": str(images / "zero.png"),
        "reason": f"zero-byte file {images / 'zero.png'}",
    }
    assert records[1]["line"] == 10 and "missing file" in records[1]["reason"]
    assert f"data: 8 usable of 10 items from {manifest} (2 skipped, see {out / SKIPPED_FILE})" in caplog.text
    assert "missing.png" in caplog.text and "zero-byte" in caplog.text


def test_no_file_without_output_dir(tmp_path):
    rows = [{"image": str(p)} for p in good_images(tmp_path, 9)] + [{"image": "missing.png"}]
    data = ImageTextData.open(write_manifest(tmp_path / "m.jsonl", rows), output_dir=None, max_pixels=BUDGET)
    assert len(data.skipped) == 1
    assert not list(tmp_path.rglob(SKIPPED_FILE))


def test_bad_share_threshold(tmp_path):
    good = [{"image": str(p)} for p in good_images(tmp_path, 9)]
    at_limit = write_manifest(tmp_path / "one_bad.jsonl", good + [{"image": "missing.png"}])
    data = ImageTextData.open(at_limit, output_dir=tmp_path / "out", max_pixels=BUDGET, max_bad_share=0.1)
    assert len(data) == 9

    over = write_manifest(tmp_path / "two_bad.jsonl", good[:8] + [{"image": "missing.png"}, b"not json"])
    with pytest.raises(DataError, match=r"two_bad.jsonl: 2 of 10 items are bad") as info:
        ImageTextData.open(over, output_dir=tmp_path / "out2", max_pixels=BUDGET, max_bad_share=0.1)
    assert "max_bad_share" in str(info.value)
    assert len(read_skipped(tmp_path / "out2")) == 2  # recorded before stopping
    ImageTextData.open(over, output_dir=None, max_pixels=BUDGET, max_bad_share=0.2)


def test_no_usable_items_is_an_error(tmp_path):
    manifest = write_manifest(tmp_path / "m.jsonl", [{"image": "missing.png"}])
    with pytest.raises(DataError, match="no usable items"):
        ImageTextData.open(manifest, output_dir=None, max_pixels=BUDGET, max_bad_share=1.0)


def test_lazy_load_failure_is_recorded_once_and_counted(tmp_path):
    rows = [{"image": str(p)} for p in good_images(tmp_path / "img", 8)]
    for name in ("a.jpg", "b.jpg"):
        whole = noisy_jpeg(tmp_path / "img" / name, (128, 128)).read_bytes()
        (tmp_path / "img" / name).write_bytes(whole[: len(whole) // 2])
        rows.append({"image": f"img/{name}", "id": name})
    out = tmp_path / "out"
    data = ImageTextData.open(write_manifest(tmp_path / "m.jsonl", rows), output_dir=out, max_pixels=BUDGET)
    assert len(data) == 10 and data.skipped == []  # verify cannot see a cut JPEG
    assert data.image(data.items[0]).size == (8, 8)
    assert data.image(data.items[8]) is None
    assert data.image(data.items[8]) is None
    assert len(data.skipped) == 1 and read_skipped(out) == data.skipped
    assert data.skipped[0]["id"] == "a.jpg" and "truncated" in data.skipped[0]["reason"]
    with pytest.raises(DataError, match="2 of 10 items are bad"):
        data.image(data.items[9])
    assert len(read_skipped(out)) == 2


# --- sharding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 7, 10])
@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_shard_is_disjoint_and_complete(n, world_size):
    items = list(range(n))
    shards = [shard(items, rank, world_size) for rank in range(world_size)]
    assert sorted(x for s in shards for x in s) == items
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert shards[0] == items[0::world_size]


def test_shard_rejects_bad_rank():
    with pytest.raises(ValueError):
        shard([1, 2], 2, 2)
    with pytest.raises(ValueError):
        shard([1, 2], 0, 0)


def test_raw_scans_and_scenes_in_a_manifest_name_the_prepare_command(tmp_path):
    """Real files as a PACS or a Sentinel-2 export hands them over, listed straight in a manifest."""
    pydicom = pytest.importorskip("pydicom")  # noqa: F841
    nibabel = pytest.importorskip("nibabel")
    rasterio = pytest.importorskip("rasterio")
    import numpy as np
    from dicom_files import write_dicom

    write_dicom(tmp_path / "ct.dcm", np.zeros((4, 4), np.uint16))
    write_dicom(tmp_path / "1.2.840.10008.504", np.zeros((4, 4), np.uint16))  # a PACS export's UID name
    nibabel.save(nibabel.Nifti1Image(np.zeros((4, 4, 4), np.float32), np.eye(4)), tmp_path / "brain.nii.gz")
    with rasterio.open(tmp_path / "scene.tif", "w", driver="GTiff", width=8, height=8, count=4, dtype="uint16",
                       crs="EPSG:32633", transform=rasterio.Affine(10, 0, 500000, 0, -10, 4600000)) as ds:
        ds.write(np.ones((4, 8, 8), np.uint16))
    noisy_png(tmp_path / "ok.png")
    names = ["ct.dcm", "1.2.840.10008.504", "brain.nii.gz", "scene.tif", "ok.png"]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"image": n}) + "\n" for n in names))
    data = ImageTextData.open(tmp_path / "m.jsonl", output_dir=None, max_pixels=56 * 56, max_bad_share=1.0)
    assert [item.image_path.name for item in data.items] == ["ok.png"]
    reasons = {record["image"].rsplit("/", 1)[-1]: record["reason"] for record in data.skipped}
    for name, kind, domain in (("ct.dcm", "a DICOM file", "medical"), ("1.2.840.10008.504", "a DICOM file", "medical"),
                               ("brain.nii.gz", "a NIfTI volume", "medical"),
                               ("scene.tif", "a TIFF that PIL cannot read", "remote-sensing")):
        assert reasons[name].startswith(f"not an image (PIL cannot identify {tmp_path / name}): {kind}")
        assert reasons[name].endswith(f"convert it with `selfplay prepare {domain} SRC OUT` and train on the "
                                      "manifest it writes")
