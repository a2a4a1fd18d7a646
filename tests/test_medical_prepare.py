"""`selfplay prepare medical` on a real folder: DICOM studies with reports written with pydicom, a NIfTI
volume, broken files skipped and named; one slow test plays a self-play round on the prepared folder."""

import json
import logging

import numpy as np
import pytest
from PIL import Image

from selfplay.cli import main as cli
from selfplay.medical.prepare import prepare_medical
from selfplay.prepare import MANIFEST_FILE
from selfplay.records import SKIPPED_FILE, read_jsonl

pydicom = pytest.importorskip("pydicom")
nibabel = pytest.importorskip("nibabel")
from dicom_files import write_dicom  # noqa: E402
from prepared_round import play_prepared_round  # noqa: E402

# A CT row in HU: under, at the centre of, at the top of and above the lung window (-600, 1500).
LUNG_ROW = [-1350, -600, 150, 3000]
MIMIC_REPORT = """FINAL REPORT
EXAMINATION: CHEST (PA AND LAT)
INDICATION: Patient: John Smith, MRN: 12345678, cough.
FINDINGS: Compared with the study of 2019-03-04 read by Dr. Lee, the lungs are clear. No effusion.
IMPRESSION: No acute cardiopulmonary process.
"""


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


@pytest.mark.slow
def test_one_selfplay_round_on_the_prepared_folder_with_the_medical_preset(tiny_qwen, tmp_path):
    src, reports = medical_folder(tmp_path)
    prepare_medical(src, tmp_path / "prepared", reports=reports, window="lung")
    played = play_prepared_round("medical", tmp_path / "prepared" / MANIFEST_FILE, tiny_qwen, tmp_path / "run",
                                 tmp_path / "cache")
    assert "[DATE]" in played
