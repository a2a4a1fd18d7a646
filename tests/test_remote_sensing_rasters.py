"""Remote-sensing readers on real GeoTIFFs written with rasterio: pixel values, bands, nodata, tiles."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

rasterio = pytest.importorskip("rasterio")
from selfplay.remote_sensing import rasters as rs  # noqa: E402
from selfplay.remote_sensing.rasters import RasterError, read_raster, tiles  # noqa: E402

SIZE = 64
TRANSFORM = rasterio.Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 4600000.0)  # from_origin(500000, 4600000, 10)
ROWS, COLS = np.mgrid[0:SIZE, 0:SIZE]


def write_scene(path, data, interleave="pixel"):
    """A GeoTIFF as a Sentinel-2 export looks: named bands, nodata 0, UTM 33N."""
    count, height, width = data.shape
    profile = dict(driver="GTiff", width=width, height=height, count=count, dtype=data.dtype, nodata=0)
    with rasterio.open(path, "w", **profile, crs="EPSG:32633", transform=TRANSFORM, interleave=interleave) as ds:
        ds.write(data)
        ds.descriptions = ("B2", "B3", "B4", "B8")
    return path


def scene_data(nodata_block=16):
    """Four distinct uint16 bands; the top-left nodata_block square is nodata (0) in every band.

    B4 is 100 * (row + 1), so every row repeats one value and its 2nd and 98th percentiles over
    the valid pixels are exact values of the band: 200 and 6300 (they would be 0 and 6300 if the
    nodata pixels counted).
    """
    data = np.stack([1000 + 10 * COLS, 5000 - 30 * ROWS, 100 * (ROWS + 1), 700 + 0 * ROWS]).astype(np.uint16)
    data[:, :nodata_block, :nodata_block] = 0
    return data


def stretched(band, valid, low=2.0, high=98.0):
    """The expected 8-bit channel, computed with numpy from the definition."""
    lo, hi = np.percentile(band[valid], [low, high])
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    out = np.clip(np.rint((band.astype(np.float64) - lo) * scale), 0, 255)
    return np.where(valid, out, 0).astype(np.uint8)


@pytest.fixture
def scene(tmp_path):
    return write_scene(tmp_path / "scene.tif", scene_data())


def test_percentiles_of_valid_pixels_map_to_0_and_255(scene):
    tile = read_raster(scene, bands=["B4"])
    grey = np.asarray(tile.image)
    assert tile.image.mode == "RGB" and grey.shape == (SIZE, SIZE, 3)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 0] == grey[..., 2]).all()
    band, valid = scene_data()[2], scene_data()[2] != 0
    assert np.percentile(band[valid], [2, 98]).tolist() == [200.0, 6300.0]
    np.testing.assert_array_equal(grey[..., 0], stretched(band, valid))
    assert (grey[1, 16:] == 0).all() and (grey[62] == 255).all() and (grey[63] == 255).all()
    assert grey[30, 40, 0] == round((3100 - 200) * 255 / 6100)


def test_nodata_is_black_and_counted(scene):
    tile = read_raster(scene)
    pixels = np.asarray(tile.image)
    assert (pixels[:16, :16] == 0).all()
    assert tile.valid_share == pytest.approx(1 - 16 * 16 / SIZE**2)
    overridden = read_raster(scene, bands=["B4"], nodata=3100)  # row 30 is nodata now, and 0 is data
    grey, band = np.asarray(overridden.image)[..., 0], scene_data()[2]
    assert overridden.valid_share == 1 - 1 / SIZE and (grey[30] == 0).all()
    np.testing.assert_array_equal(grey, stretched(band, band != 3100))


def test_sentinel2_rgb_preset_reads_b4_b3_b2_in_order(scene):
    pixels = np.asarray(read_raster(scene, bands="sentinel2_rgb").image)
    data, valid = scene_data(), scene_data()[0] != 0
    for channel, band in enumerate([2, 1, 0]):  # B4, B3, B2
        np.testing.assert_array_equal(pixels[..., channel], stretched(data[band], valid))
    assert pixels[40, 10, 2] < pixels[40, 50, 2]  # blue is B2, a ramp across columns
    assert pixels[20, 30, 0] < pixels[50, 30, 0]  # red is B4, a ramp down the rows


def test_band_names_ignore_case_and_zero_padding(scene):
    by_name = np.asarray(read_raster(scene, bands=["b08", "B4", "b3"]).image)
    by_index = np.asarray(read_raster(scene, bands=[4, 3, 2]).image)
    np.testing.assert_array_equal(by_name, by_index)


def test_flat_band_maps_to_zero(scene):
    pixels = np.asarray(read_raster(scene, bands=["B8"]).image)  # B8 is constant 700
    assert (pixels == 0).all()


def test_missing_band_names_the_file_and_what_it_has(scene):
    message = r"scene\.tif: asked for band B11 but the file has 4 bands \(B2, B3, B4, B8\)"
    with pytest.raises(RasterError, match=message):
        read_raster(scene, bands=["B4", "B11", "B2"])
    with pytest.raises(RasterError, match="asked for band 5"):
        read_raster(scene, bands=[5])


def test_tiles_keep_window_bounds_and_crs(scene):
    got = list(tiles(scene, 32, min_valid_share=0.0))
    assert [(t.row, t.col) for t in got] == [(0, 0), (0, 32), (32, 0), (32, 32)]
    assert {(t.width, t.height) for t in got} == {(32, 32)}
    for t in got:
        left, top = 500000.0 + 10 * t.col, 4600000.0 - 10 * t.row
        assert t.bounds == (left, top - 320.0, left + 320.0, top)
        assert t.crs == "EPSG:32633" and t.image.size == (32, 32)
    assert got[0].valid_share == pytest.approx(0.75) and got[3].valid_share == 1.0


def test_tiles_share_the_scene_stretch(scene):
    whole = np.asarray(read_raster(scene).image)
    for t in tiles(scene, 32, min_valid_share=0.0):
        np.testing.assert_array_equal(np.asarray(t.image), whole[t.row : t.row + 32, t.col : t.col + 32])


def test_all_nodata_tile_is_skipped(tmp_path):
    path = write_scene(tmp_path / "edge.tif", scene_data(nodata_block=32))
    assert [(t.row, t.col) for t in tiles(path, 32)] == [(0, 32), (32, 0), (32, 32)]


def test_edge_tiles_shift_inward_and_overlap_steps(scene):
    shifted = tiles(scene, 48, min_valid_share=0.0)
    assert [(t.row, t.col) for t in shifted] == [(0, 0), (0, 16), (16, 0), (16, 16)]
    cols = [t.col for t in tiles(scene, 32, overlap=16, min_valid_share=0.0) if t.row == 0]
    assert cols == [0, 16, 32]
    big = list(tiles(scene, 100))
    assert [(t.width, t.height) for t in big] == [(SIZE, SIZE)]
    with pytest.raises(ValueError, match="overlap"):
        next(tiles(scene, 32, overlap=32))


@pytest.mark.parametrize("interleave", ["pixel", "band"])
def test_tifffile_fallback_gives_the_same_tile(tmp_path, monkeypatch, interleave):
    path = write_scene(tmp_path / f"{interleave}.tif", scene_data(), interleave=interleave)
    expected = read_raster(path, bands=[3, 2, 1])
    expected_tiles = [(t.row, t.col, t.bounds, np.asarray(t.image).tobytes()) for t in tiles(path, 32)]
    assert len(expected_tiles) == 4
    monkeypatch.setattr(rs, "raster_backend", lambda path: "tifffile")
    got = read_raster(path, bands=[3, 2, 1])
    np.testing.assert_array_equal(np.asarray(got.image), np.asarray(expected.image))
    assert (got.bounds, got.crs, got.valid_share) == (expected.bounds, expected.crs, expected.valid_share)
    by_name = read_raster(path, bands="sentinel2_rgb")  # names from GDAL's metadata tag
    np.testing.assert_array_equal(np.asarray(by_name.image), np.asarray(expected.image))
    assert [(t.row, t.col, t.bounds, np.asarray(t.image).tobytes()) for t in tiles(path, 32)] == expected_tiles


def test_fallback_without_tifffile_says_what_to_install(scene, monkeypatch):
    monkeypatch.setattr(rs, "raster_backend", lambda path: "tifffile")
    monkeypatch.setitem(sys.modules, "tifffile", None)
    with pytest.raises(ImportError, match=r'pip install "selfplay\[geo\]"'):
        read_raster(scene)


def test_module_imports_without_geo_packages():
    code = "import sys; sys.modules['rasterio'] = sys.modules['tifffile'] = None; import selfplay.remote_sensing.prepare"
    # the geo packages load only when a raster is read, so the package imports without them
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("backend", ["rasterio", "tifffile"])
def test_corrupt_tiff_names_the_file(tmp_path, monkeypatch, backend):
    path = tmp_path / "broken.tif"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    monkeypatch.setattr(rs, "raster_backend", lambda path: backend)
    with pytest.raises(RasterError, match=r"broken\.tif"):
        read_raster(path)


def test_png_aerial_image_is_returned_as_it_is(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    tile = read_raster(tmp_path / "a.png")
    np.testing.assert_array_equal(np.asarray(tile.image), pixels)
    assert (tile.bounds, tile.crs, tile.valid_share) == (None, None, 1.0)
    Image.fromarray((ROWS * 1000).astype(np.uint16)).save(tmp_path / "deep.png")
    deep = np.asarray(read_raster(tmp_path / "deep.png").image)
    np.testing.assert_array_equal(deep[..., 1], stretched(ROWS * 1000, ROWS >= 0))
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(RasterError, match=r"bad\.jpg"):
        read_raster(tmp_path / "bad.jpg")
