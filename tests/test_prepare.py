"""`selfplay prepare` on real folders: DICOM studies with reports written with pydicom, a NIfTI volume,
a 4-band GeoTIFF written with rasterio and captions; broken files skipped and named; one slow test plays
a self-play round on each prepared folder with the tiny model."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from selfplay.cli import main as cli
from selfplay.prepare import MANIFEST_FILE, prepare_medical, prepare_remote_sensing
from selfplay.records import SKIPPED_FILE

pydicom = pytest.importorskip("pydicom")
nibabel = pytest.importorskip("nibabel")
rasterio = pytest.importorskip("rasterio")
from dicom_files import write_dicom  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# A CT row in HU: under, at the centre of, at the top of and above the lung window (-600, 1500).
LUNG_ROW = [-1350, -600, 150, 3000]
MIMIC_REPORT = """FINAL REPORT
EXAMINATION: CHEST (PA AND LAT)
INDICATION: Patient: John Smith, MRN: 12345678, cough.
FINDINGS: Compared with the study of 2019-03-04 read by Dr. Lee, the lungs are clear. No effusion.
IMPRESSION: No acute cardiopulmonary process.
"""
CAPTIONS = {"images": [
    {"filename": "scene.tif", "sentences": [{"raw": "a river crosses farmland ."}, {"raw": "fields beside a river ."},
                                            {"raw": "a river crosses farmland ."}]},
    {"filename": "chip.png", "sentences": [{"raw": "a parking lot with many cars ."}]},
]}


def write_slice(path, hu, **elements):
    """A minimal CT slice: ``hu`` (rows, cols) stored as uint16 with Rescale Intercept -2048."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_dicom(path, (np.asarray(hu) + 2048).astype(np.uint16), RescaleSlope=1, RescaleIntercept=-2048,
                       **elements)


def ct_slice(seed=0, size=32):
    hu = np.random.default_rng(seed).integers(-1000, 400, (size, size))
    hu[0, :4] = LUNG_ROW
    return hu


def medical_folder(root):
    """MIMIC-style study with a free-text report, IU-style images named in a reports table, one image
    without text, a NIfTI volume, a truncated DICOM and one without pixel data."""
    src = root / "studies"
    write_slice(src / "files/p10/p1000/s5001/view1.dcm", ct_slice(0))
    (src / "files/p10/p1000/s5001.txt").write_text(MIMIC_REPORT)
    write_slice(src / "iu/CXR7_IM-0001-1001.dcm", ct_slice(1))
    write_slice(src / "iu/unpaired.dcm", ct_slice(2))
    Image.fromarray(np.full((24, 20), 77, np.uint8)).save(src / "iu/CXR9_IM-0002-1001.png")
    nibabel.save(nibabel.Nifti1Image(np.arange(16 * 16 * 5, dtype=np.float32).reshape(16, 16, 5), np.eye(4)),
                 src / "vol.nii.gz")
    whole = write_slice(src / "broken/truncated.dcm", ct_slice(3)).read_bytes()
    (src / "broken/truncated.dcm").write_bytes(whole[: len(whole) // 2])
    path = write_slice(src / "broken/nopixels.dcm", ct_slice(4))
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    (src / "notes.md").write_text("not an image")
    reports = root / "reports.csv"
    reports.write_text("filename,findings,impression\n"
                       "CXR7_IM-0001-1001.dcm.png,Heart size normal. Seen 03/04/2019.,No acute disease.\n"
                       "CXR9_IM-0002-1001,,Stable chest.\n")
    return src, reports


def write_geotiff(path, *, descriptions=("B2", "B3", "B4", "B8"), size=96):
    """A 4-band uint16 Sentinel-2-like scene in EPSG:32633, 10 m pixels, nodata 0 along the top rows."""
    pixels = np.random.default_rng(0).integers(500, 4000, (len(descriptions), size, size)).astype(np.uint16)
    pixels[:, :8, :] = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=len(descriptions),
                       dtype="uint16", crs="EPSG:32633", transform=rasterio.Affine(10, 0, 500000, 0, -10, 4600000),
                       nodata=0) as dst:
        dst.write(pixels)
        dst.descriptions = descriptions
    return path


def remote_sensing_folder(root):
    src = root / "scenes"
    write_geotiff(src / "scene.tif")
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(src / "chip.png")
    captions = root / "captions.json"
    captions.write_text(json.dumps(CAPTIONS))
    return src, captions


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- medical ---------------------------------------------------------------------------------------


def test_medical_manifest_pairs_reports_windows_pixels_and_skips_broken_files(tmp_path, caplog, monkeypatch):
    src, reports = medical_folder(tmp_path)
    out = tmp_path / "prepared"
    monkeypatch.setattr("selfplay.prepare.PROGRESS_EVERY", 3)
    with caplog.at_level(logging.INFO, logger="selfplay"):
        summary = prepare_medical(src, out, reports=reports, window="lung")
    rows = {row["id"]: row for row in read_jsonl(out / MANIFEST_FILE)}
    assert list(rows) == ["files/p10/p1000/s5001/view1.dcm", "iu/CXR7_IM-0001-1001.dcm",
                          "iu/CXR9_IM-0002-1001.png", "iu/unpaired.dcm", "vol.nii.gz"]
    mimic = rows["files/p10/p1000/s5001/view1.dcm"]
    assert mimic == {"id": mimic["id"], "image": "images/files/p10/p1000/s5001/view1.dcm.png",
                     "text": "Compared with the study of [DATE] read by Dr. [NAME], the lungs are clear. No effusion.",
                     "source": "files/p10/p1000/s5001/view1.dcm", "window": "lung", "frame": None}
    assert rows["iu/CXR7_IM-0001-1001.dcm"]["text"] == "Heart size normal. Seen [DATE]."
    assert rows["iu/unpaired.dcm"]["text"] is None
    assert rows["vol.nii.gz"]["slice"] is None and "frame" not in rows["vol.nii.gz"]
    plain = rows["iu/CXR9_IM-0002-1001.png"]  # an 8-bit PNG passes through; findings fall back to impression
    assert plain["text"] == "Stable chest." and "window" not in plain
    assert np.asarray(Image.open(out / plain["image"])).tolist() == [[77] * 20] * 24

    pixels = np.asarray(Image.open(out / mimic["image"]))
    assert pixels.shape == (32, 32) and pixels.dtype == np.uint8
    assert pixels[0, :4].tolist() == [0, 128, 255, 255]  # window bottom, centre, top, above

    skipped = {record["file"]: record["reason"] for record in read_jsonl(out / SKIPPED_FILE)}
    assert set(skipped) == {"broken/truncated.dcm", "broken/nopixels.dcm"}
    assert skipped["broken/nopixels.dcm"].startswith("no pixel data")
    assert skipped["broken/truncated.dcm"]
    for name in skipped:
        assert any(name in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    assert "prepare: 3 of 7 files, 1 image, 2 skipped" in caplog.text  # broken/ sorts first
    assert (summary.converted, len(summary.skipped), summary.without_text, summary.ignored) == (5, 2, 2, 2)
    assert not list(out.rglob("*truncated*")) and not list(out.rglob("*.tmp"))

    previews = (out / "previews" / "previews.md").read_text()
    assert (out / "previews" / "sheet.png").is_file() and "[DATE]" in previews and "Dr. [NAME]" in previews
    everything = previews + caplog.text + (out / MANIFEST_FILE).read_text() + (out / SKIPPED_FILE).read_text()
    for identifier in ("Smith", "Lee", "2019-03-04", "03/04/2019", "12345678"):
        assert identifier not in everything


def test_medical_section_choice_and_jsonl_reports(tmp_path):
    src, _ = medical_folder(tmp_path)
    reports = tmp_path / "reports.jsonl"
    reports.write_text(json.dumps({"uid": "unpaired", "findings": "", "impression": "Normal chest."}) + "\n")
    prepare_medical(src, tmp_path / "impression", reports=reports, section="impression")
    rows = {row["id"]: row for row in read_jsonl(tmp_path / "impression" / MANIFEST_FILE)}
    assert rows["files/p10/p1000/s5001/view1.dcm"]["text"] == "No acute cardiopulmonary process."
    assert rows["iu/unpaired.dcm"]["text"] == "Normal chest."
    assert rows["iu/unpaired.dcm"]["window"] is None


def test_medical_command_line_summary_refusals_and_overwrite(tmp_path, capsys):
    src, reports = medical_folder(tmp_path)
    out = tmp_path / "prepared"
    assert cli(["prepare", "medical", str(src), str(out), "--reports", str(reports), "--previews", "2"]) == 0
    printed = capsys.readouterr().out
    assert "5 images from 7 files" in printed and "skipped 2 files: " in printed and "no pixel data (1)" in printed
    assert "without text: 2 images" in printed and "ignored 2 files" in printed and "previews: 2" in printed
    assert cli(["prepare", "medical", str(src), str(out)]) == 2
    assert "not empty; pass --overwrite" in capsys.readouterr().err
    assert cli(["prepare", "medical", str(src), str(out), "--overwrite"]) == 0
    assert cli(["prepare", "medical", str(tmp_path / "missing"), str(tmp_path / "o2")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli(["prepare", "medical", str(src), str(tmp_path / "o3"), "--window", "soft"]) == 2
    assert cli(["prepare", "medical", str(src), str(src / "files")]) == 2  # inside SRC is fine, SRC itself not
    assert sorted(p.name for p in src.iterdir()) == ["broken", "files", "iu", "notes.md", "vol.nii.gz"]
    assert len(list((src / "iu").iterdir())) == 3


# --- remote sensing --------------------------------------------------------------------------------


def test_geotiff_tiles_carry_window_bounds_crs_and_scene_captions(tmp_path):
    src, captions = remote_sensing_folder(tmp_path)
    out = tmp_path / "prepared"
    summary = prepare_remote_sensing(src, out, captions=captions, bands="sentinel2_rgb", tile_size=48)
    tiles = read_jsonl(out / MANIFEST_FILE)
    assert [row["id"] for row in tiles] == ["scene.tif/r0_c0", "scene.tif/r0_c48", "scene.tif/r48_c0",
                                            "scene.tif/r48_c48"]
    for row in tiles:
        assert row["crs"] == "EPSG:32633" and row["source"] == "scene.tif"
        assert row["text"] == "a river crosses farmland . fields beside a river ."
        image = Image.open(out / row["image"])
        assert image.mode == "RGB" and image.size == (48, 48)
    assert tiles[0]["window"] == [0, 0, 48, 48] and tiles[0]["valid_share"] == pytest.approx(40 / 48, abs=1e-4)
    assert tiles[0]["bounds"] == [500000, 4600000 - 480, 500480, 4600000]
    assert tiles[3]["window"] == [48, 48, 48, 48]
    assert tiles[3]["bounds"] == [500480, 4600000 - 960, 500960, 4600000 - 480]
    assert not np.asarray(Image.open(out / tiles[0]["image"]))[:8].any()  # nodata painted black
    # the plain RGB chip has no band named B4: skipped, named, and the scene's tiles are unaffected
    assert read_jsonl(out / SKIPPED_FILE) == [
        {"file": "chip.png", "reason": "asked for band B4 but the file has 3 bands (unnamed: use 1-based indexes)"}]
    assert (summary.converted, len(summary.skipped), summary.without_text, summary.ignored) == (4, 1, 0, 0)


def test_plain_rgb_chip_is_one_tile_without_georeference(tmp_path):
    src, captions = remote_sensing_folder(tmp_path)
    prepare_remote_sensing(src, tmp_path / "prepared", captions=captions, tile_size=48)
    chip = read_jsonl(tmp_path / "prepared" / MANIFEST_FILE)[0]
    assert chip == {"id": "chip.png/r0_c0", "image": "images/chip.png/r0_c0.png",
                    "text": "a parking lot with many cars .", "source": "chip.png", "window": [0, 0, 32, 32],
                    "bounds": None, "crs": None, "valid_share": 1.0}
    assert np.array_equal(np.asarray(Image.open(tmp_path / "prepared" / chip["image"])),
                          np.asarray(Image.open(src / "chip.png")))  # 8-bit RGB is not stretched


def test_missing_band_skips_that_file_by_name_and_bad_options_exit_2(tmp_path, capsys):
    src, captions = remote_sensing_folder(tmp_path)
    write_geotiff(src / "swir.tif", descriptions=("B2", "B3", "B4", "B11"), size=40)
    out = tmp_path / "prepared"
    assert cli(["prepare", "remote-sensing", str(src), str(out), "--bands", "B11", "--tile-size", "48"]) == 0
    captured = capsys.readouterr()
    skipped = read_jsonl(out / SKIPPED_FILE)
    assert [record["file"] for record in skipped] == ["chip.png", "scene.tif"]
    assert all("band B11" in record["reason"] for record in skipped)
    assert "skipped 2 files" in captured.out and "scene.tif" in captured.err and "B11" in captured.err
    rows = read_jsonl(out / MANIFEST_FILE)
    assert [row["id"] for row in rows] == ["swir.tif/r0_c0"] and rows[0]["text"] is None
    assert cli(["prepare", "remote-sensing", str(src), str(tmp_path / "o2"), "--bands", "sentinel2_rbg"]) == 2
    assert "unknown band preset" in capsys.readouterr().err
    assert cli(["prepare", "remote-sensing", str(src), str(tmp_path / "o3"), "--bands", "B4,B3"]) == 2
    assert cli(["prepare", "remote-sensing", str(src), str(tmp_path / "o4"), "--stretch", "98,2"]) == 2
    assert not (tmp_path / "o2").exists()


# --- one self-play round on each prepared folder -----------------------------------------------------


@pytest.mark.slow
def test_one_selfplay_round_on_each_prepared_folder_with_its_preset(tiny_qwen, tmp_path):
    """The shipped preset (focus, answer types, rewards, KL, gradient checkpointing) scaled down to the
    tiny model: its path, its 56 px pixel budget, one short round, no evaluation."""
    import yaml

    from selfplay.config import from_dict
    from selfplay.runner import main

    medical_src, reports = medical_folder(tmp_path / "medical")
    prepare_medical(medical_src, tmp_path / "medical/prepared", reports=reports, window="lung")
    scenes_src, captions = remote_sensing_folder(tmp_path / "remote_sensing")
    prepare_remote_sensing(scenes_src, tmp_path / "remote_sensing/prepared", captions=captions, tile_size=48)
    for domain in ("medical", "remote_sensing"):
        raw = yaml.safe_load((ROOT / "configs" / f"{domain}_qwen2_5_vl_3b.yaml").read_text())
        out = tmp_path / domain / "run"
        raw.update(output_dir=str(out), cache_dir=str(tmp_path / "cache"))
        raw["model"].update(path=str(tiny_qwen), max_pixels=56 * 56, min_pixels=56 * 56)
        raw["data"]["source"] = str(tmp_path / domain / "prepared" / MANIFEST_FILE)
        raw["game"].update(rounds=1, items_per_round=4, questions_per_item=2, answers_per_question=2,
                           blind_answers=1, generation_batch_size=16, question_max_new_tokens=16,
                           answer_max_new_tokens=4)
        raw["train"].update(questioner_steps=1, answerer_steps=1)
        history = main(from_dict(raw))
        assert len(history) == 1 and history[0]["candidates"] == 4 * 2
        assert len(read_jsonl(out / "metrics.jsonl")) == 1
        games = read_jsonl(out / "games.jsonl")
        assert len(games) == 4 * 2 and all(g["image"].endswith(".png") for g in games)
        assert (out / "rounds" / "0000" / "manifest.json").is_file()
        played = (out / "games.jsonl").read_text()
        assert "Smith" not in played and "2019-03-04" not in played
        assert ("[DATE]" if domain == "medical" else "farmland") in played
