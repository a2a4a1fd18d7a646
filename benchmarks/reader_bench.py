"""Reader throughput of the domain presets: DICOM slices and GeoTIFF tiles per second.

Writes a 512 x 512 12-bit CT slice with pydicom and a 4-band uint16 2048 x 2048 GeoTIFF (and a
512 x 512 one) with rasterio into a temporary folder, then times the readers that `selfplay prepare`
uses. Nothing is downloaded.

    python benchmarks/reader_bench.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # tests/dicom_files.py writes the CT slice

from dicom_files import write_dicom  # noqa: E402

from selfplay.medical.scans import read_dicom  # noqa: E402
from selfplay.remote_sensing.rasters import read_raster, tiles  # noqa: E402


def write_geotiff(path: Path, side: int) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    data = np.random.default_rng(0).integers(1, 10000, (4, side, side), dtype=np.uint16)
    with rasterio.open(path, "w", driver="GTiff", width=side, height=side, count=4, dtype="uint16", nodata=0,
                       crs="EPSG:32633", transform=from_origin(500000, 4600000, 10, 10)) as dst:
        dst.write(data)
        dst.descriptions = ("B2", "B3", "B4", "B8")
    return path


def rate(label: str, unit: str, count: int, seconds: float) -> None:
    print(f"{label}: {count / seconds:.0f} {unit}/s ({count} in {seconds:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        pixels = np.random.default_rng(0).integers(0, 4096, (512, 512), dtype=np.uint16)
        ct = write_dicom(Path(scratch) / "ct.dcm", pixels, bits_stored=12, RescaleSlope=1, RescaleIntercept=-1024,
                         WindowCenter=40, WindowWidth=400)
        started = time.perf_counter()
        for _ in range(args.repeats):
            read_dicom(ct)
        rate("read_dicom, 512 x 512 12-bit CT, file window", "images", args.repeats, time.perf_counter() - started)

        small = write_geotiff(Path(scratch) / "small.tif", 512)
        started = time.perf_counter()
        for _ in range(args.repeats // 4):
            read_raster(small, bands="sentinel2_rgb")
        rate("read_raster, 512 x 512 4-band uint16, sentinel2_rgb", "scenes", args.repeats // 4,
             time.perf_counter() - started)

        scene = write_geotiff(Path(scratch) / "scene.tif", 2048)
        started = time.perf_counter()
        count = sum(1 for _ in tiles(scene, 448, bands="sentinel2_rgb"))
        rate("tiles, 2048 x 2048 4-band uint16 into 448 x 448", "tiles", count, time.perf_counter() - started)


if __name__ == "__main__":
    main()
