"""`selfplay prepare remote-sensing` on a real folder: a 4-band GeoTIFF written with rasterio, a plain RGB
chip and captions; files without the asked bands skipped and named; one slow test plays a self-play round
on the prepared folder."""

import json

import numpy as np
import pytest
from PIL import Image

from selfplay.cli import main as cli
from selfplay.prepare import MANIFEST_FILE
from selfplay.records import SKIPPED_FILE, read_jsonl
from selfplay.remote_sensing.prepare import prepare_remote_sensing

rasterio = pytest.importorskip("rasterio")
from prepared_round import play_prepared_round  # noqa: E402

CAPTIONS = {"images": [
    {"filename": "scene.tif", "sentences": [{"raw": "a river crosses farmland ."}, {"raw": "fields beside a river ."},
                                            {"raw": "a river crosses farmland ."}]},
    {"filename": "chip.png", "sentences": [{"raw": "a parking lot with many cars ."}]},
]}


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


# --- one self-play round on the prepared folder ------------------------------------------------------


@pytest.mark.slow
def test_one_selfplay_round_on_the_prepared_folder_with_the_remote_sensing_preset(tiny_qwen, tmp_path):
    src, captions = remote_sensing_folder(tmp_path)
    prepare_remote_sensing(src, tmp_path / "prepared", captions=captions, tile_size=48)
    played = play_prepared_round("remote_sensing", tmp_path / "prepared" / MANIFEST_FILE, tiny_qwen,
                                 tmp_path / "run", tmp_path / "cache")
    assert "farmland" in played
