"""DICOM as PACS and archives export it: pydicom's own bundled test files through `prepare medical`,
files without preamble or File Meta, PALETTE COLOR, and compressed syntaxes with and without a decoder."""

import json
import shutil
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from selfplay.medical.prepare import prepare_medical
from selfplay.medical.scans import MedicalImageError, is_medical_file, read_dicom
from selfplay.prepare import _reason_kind

pydicom = pytest.importorskip("pydicom")
from dicom_files import write_dicom  # noqa: E402
from pydicom import uid  # noqa: E402
from pydicom.data import get_testdata_file, get_testdata_files  # noqa: E402
from pydicom.encaps import encapsulate  # noqa: E402
from pydicom.pixels.decoders import JPEGLSLosslessDecoder  # noqa: E402

TEST_FILES = Path(get_testdata_files()[0]).parent


def _pydicom_decodes(path: Path) -> bool:
    """The oracle: pydicom itself, reading with force, gives a pixel array."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pydicom.dcmread(path, force=True).pixel_array
    except Exception:  # noqa: BLE001 - any failure means "not decodable" to the oracle
        return False
    return True


def test_pydicoms_bundled_files_read_wherever_their_pixels_decode(tmp_path):
    summary = prepare_medical(TEST_FILES, tmp_path / "out", previews=0)
    read = {json.loads(line)["source"] for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()}
    decodable = {p.relative_to(TEST_FILES).as_posix() for p in TEST_FILES.rglob("*")
                 if p.is_file() and is_medical_file(p) and _pydicom_decodes(p)}
    assert read == decodable  # every file pydicom decodes is read, and nothing else
    # pydicom 3.0's files (a pydicom shipping others changes these numbers, not the line above):
    # 80 read and 13 compressed ones undecodable before the decoders, PALETTE COLOR refused, files
    # without File Meta called "not a DICOM file".
    reasons = Counter(_reason_kind(record["reason"]) for record in summary.skipped)
    assert summary.converted == 89 and summary.files == 167 and summary.ignored == 9
    assert reasons == {"no pixel data": 71, "cannot decode pixel data": 3, "incomplete Image Pixel module": 2,
                       "unreadable DICOM": 1, "not a DICOM file": 1}
    by_file = {record["file"]: record["reason"] for record in summary.skipped}
    # the three that no decoder reads are broken streams, named so in pydicom's README
    assert {f for f, r in by_file.items() if r.startswith("cannot decode")} == {
        "JPEG-lossy.dcm", "JPEG2000-embedded-sequence-delimiter.dcm", "MR_truncated.dcm"}
    for name in ("MR_small_jpeg_ls_lossless.dcm", "JPEGLSNearLossless_16.dcm", "JPGExtended.dcm",
                 "SC_rgb_jpeg_gdcm.dcm", "GDCMJ2K_TextGBR.dcm", "examples_palette.dcm"):
        assert name in read
    assert by_file["ExplVR_LitEndNoMeta.dcm"] == ("no pixel data (PixelData element missing; the file has no "
                                                  "File Meta Information either)")
    assert by_file["badVR.dcm"].startswith("unreadable DICOM (bad NumberOfFrames")


def _bare(path: Path, out: Path, *, implicit: bool, little: bool) -> Path:
    """The same data set written as old archives hold it: no preamble, no File Meta."""
    ds = pydicom.dcmread(path)
    del ds.file_meta
    ds.preamble = None
    if not little:  # pydicom writes OW pixel bytes as they are: swap them as a big endian writer would
        ds.PixelData = np.frombuffer(ds.PixelData, "<u2").astype(">u2").tobytes()
    pydicom.dcmwrite(out, ds, implicit_vr=implicit, little_endian=little, enforce_file_format=False)
    return out


@pytest.mark.parametrize("implicit, little", [(True, True), (False, True), (False, False)])
def test_a_file_without_preamble_or_file_meta_reads_as_its_original(tmp_path, implicit, little):
    pixels = np.array([[0, 1000], [2000, 4095]], np.uint16)
    original = write_dicom(tmp_path / "a.dcm", pixels, bits_stored=12, WindowCenter=1000, WindowWidth=2000)
    bare = _bare(original, tmp_path / "IM000001", implicit=implicit, little=little)
    assert bare.read_bytes()[128:132] != b"DICM" and is_medical_file(bare)
    assert np.array_equal(np.asarray(read_dicom(bare)), np.asarray(read_dicom(original)))


def test_palette_color_goes_through_its_lut(tmp_path):
    indices = np.array([[0, 1], [2, 3]], np.uint16)
    path = write_dicom(tmp_path / "pal.dcm", indices, photometric="PALETTE COLOR", bits_stored=16)
    ds = pydicom.dcmread(path)
    lut = {"Red": [0, 65535, 0, 32896], "Green": [0, 0, 65535, 32896], "Blue": [0, 0, 0, 65535]}
    for colour, entries in lut.items():
        ds.add_new(f"{colour}PaletteColorLookupTableDescriptor", "US", [4, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", np.array(entries, "<u2").tobytes())
    ds.save_as(path)
    image = read_dicom(path)
    assert image.mode == "RGB"
    assert np.asarray(image).tolist() == [[[0, 0, 0], [255, 0, 0]], [[0, 255, 0], [128, 128, 255]]]


def test_a_syntax_without_an_installed_plugin_names_it_and_the_package(tmp_path):
    path = shutil.copy(get_testdata_file("MR_small_jpeg_ls_lossless.dcm"), tmp_path / "ls.dcm")
    assert read_dicom(path).size == (64, 64)  # decodes with the medical extra's pylibjpeg-libjpeg
    # Uninstalling a package inside a test is out of reach: pydicom's own plugin registry stands in.
    JPEGLSLosslessDecoder.remove_plugin("pylibjpeg")
    try:
        with pytest.raises(MedicalImageError) as info:
            read_dicom(path)
    finally:
        JPEGLSLosslessDecoder.add_plugin("pylibjpeg", ("pydicom.pixels.decoders.pylibjpeg", "_decode_frame"))
    assert info.value.reason == ('transfer syntax JPEG-LS Lossless Image Compression (1.2.840.10008.1.2.4.80): no '
                                 'installed plugin decodes it; pip install "selfplay[medical]" (brings '
                                 'pylibjpeg>=2.0 and pylibjpeg-libjpeg>=2.1)')


def test_a_video_syntax_is_named(tmp_path):
    path = write_dicom(tmp_path / "video.dcm", np.zeros((2, 2), np.uint16))
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = uid.MPEG2MPML
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(12)])
    ds.save_as(path)
    with pytest.raises(MedicalImageError, match="MPEG2 Main Profile / Main Level .*pydicom has no decoder"):
        read_dicom(path)
