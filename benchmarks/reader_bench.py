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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selfplay.medical import read_dicom  # noqa: E402
from selfplay.remote_sensing import read_raster, tiles  # noqa: E402


def write_ct(path: Path, side: int = 512) -> Path:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CTImageStorage, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PhotometricInterpretation = "CT", "MONOCHROME2"
    ds.Rows = ds.Columns = side
    ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = np.random.default_rng(0).integers(0, 4096, (side, side), dtype=np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


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
        ct = write_ct(Path(scratch) / "ct.dcm")
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
