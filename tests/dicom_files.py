"""A minimal DICOM writer shared by the medical tests and benchmarks/reader_bench.py (pydicom)."""

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def write_dicom(path, pixels, *, photometric="MONOCHROME2", bits_stored=16, **elements):
    """A minimal CT file: ``pixels`` is (rows, cols) or (frames, rows, cols) of uint16/int16;
    ``elements`` are set as DICOM keywords (RescaleIntercept=-1024, WindowCenter=40, ...)."""
    pixels = np.asarray(pixels)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if pixels.ndim == 3:
        ds.NumberOfFrames = pixels.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = int(pixels.dtype == np.int16)
    if pixels.size:
        ds.PixelData = pixels.astype("<u2" if ds.PixelRepresentation == 0 else "<i2").tobytes()
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)
    return path
