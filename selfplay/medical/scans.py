"""Medical imagery to 8-bit PIL images for a VLM: DICOM, NIfTI and PNG/JPEG radiographs.

A VLM sees 8-bit pictures, while a CT stores 12-16 bit values in Hounsfield units (HU) and a NIfTI
volume stores floats. Readers here pick one 2-D plane (a frame, a slice), map its values through a
window to 0-255 and return a PIL image, so the rest of selfplay treats a scan like any photograph.

Windowing is clip-and-scale (DICOM's LINEAR_EXACT): values at or below ``centre - width/2`` map to 0,
at or above ``centre + width/2`` to 255, linearly between. DICOM's LINEAR formula shifts that by half
a stored unit, which is under one grey level for the usual CT widths. The window is, in order: the
caller's (a preset name from ``WINDOW_PRESETS`` or ``(centre, width)``), the file's own (VOI LUT
Sequence, else the first Window Center/Width), else the plane's own min-max.

DICOM as archives hold it: compressed pixel data decodes through pydicom's plugins, and the medical
extra brings pylibjpeg with its libjpeg (JPEG baseline, extended 12-bit, lossless process 14, JPEG-LS
lossless and near-lossless) and openjpeg (JPEG 2000, HTJ2K) plugins; RLE and deflate are pydicom's
own. A syntax no installed plugin decodes is skipped with its name and the packages that would. Files without the 128-byte
preamble and File Meta Information (old archives) are read with pydicom's ``force`` when they hold
pixel data, their transfer syntax taken from how the data set itself is encoded. PALETTE COLOR images
go through their colour LUT to RGB.

pydicom and nibabel are optional: ``pip install "selfplay[medical]"``. A file that cannot be read
raises ``MedicalImageError`` naming the file and the reason, so the data loader can skip and record it.
"""

from __future__ import annotations

import importlib
import struct
from pathlib import Path

import numpy as np
from PIL import Image

WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
}
MEDICAL_SUFFIXES: tuple[str, ...] = (".dcm", ".dicom", ".nii", ".nii.gz", ".png", ".jpg", ".jpeg")
_NIFTI_SUFFIXES = (".nii", ".nii.gz")
_PLAIN_SUFFIXES = (".png", ".jpg", ".jpeg")
_DICOM_MAGIC_OFFSET = 128
# A data set written without preamble and File Meta starts with its first element, nearly always in
# the Identifying group (0008) or, for a few writers, the Command (0000) group; ACR-NEMA-era files too.
_BARE_DATASET_GROUPS = (0x0000, 0x0008)
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_IMAGE_PIXEL_KEYWORDS = ("Rows", "Columns", "BitsAllocated")


class MedicalImageError(ValueError):
    """An unreadable medical file: ``str(exc)`` is ``"<path>: <reason>"``."""

    def __init__(self, path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")


def _optional(module: str):
    """Import a reader dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f'{module} is needed to read medical images: pip install "selfplay[medical]"') from exc


def _suffix(path) -> str:
    name = Path(path).name.lower()
    return next((s for s in MEDICAL_SUFFIXES if name.endswith(s)), "")


def is_medical_file(path) -> bool:
    """True for a known suffix, or for a DICOM file named without one (UIDs like ``1.2.840...504``):
    with the ``DICM`` magic after its preamble, or starting bare with a group 0000/0008 element."""
    if _suffix(path):
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(_DICOM_MAGIC_OFFSET + 4)
    except OSError:
        return False
    if head[_DICOM_MAGIC_OFFSET:] == b"DICM":
        return True
    if len(head) < 8:
        return False
    tags = (struct.unpack(order + "HH", head[:4]) for order in "<>")  # little, then big endian
    return any(group in _BARE_DATASET_GROUPS and element < 0x0100 for group, element in tags)


def _resolve_window(window) -> tuple[float, float] | None:
    """A preset name or ``(centre, width)`` checked up front: a bad one is a config error, not a file's."""
    if window is None:
        return None
    if isinstance(window, str):
        if window not in WINDOW_PRESETS:
            raise ValueError(f"window={window!r} is not a preset; choose one of {sorted(WINDOW_PRESETS)}")
        return WINDOW_PRESETS[window]
    centre, width = (float(v) for v in window)
    if not width > 0:
        raise ValueError(f"window={window!r}: width must be > 0")
    return centre, width


def _to_uint8(unit: np.ndarray) -> np.ndarray:
    """[0, 1] to 0-255; NaN (possible in NIfTI floats) becomes black. In place: a CT slice is 2 MB."""
    out = np.clip(unit, 0.0, 1.0)
    out *= 255.0
    return np.rint(np.nan_to_num(out, copy=False, nan=0.0), out=out).astype(np.uint8)


def _scale(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map [lo, hi] linearly onto 0-255; a flat range gives black rather than a division by zero."""
    if hi <= lo:
        return np.zeros(values.shape, np.uint8)
    return _to_uint8((np.asarray(values, np.float64) - lo) / (hi - lo))


def _apply_window(values: np.ndarray, centre: float, width: float) -> np.ndarray:
    return _scale(values, centre - width / 2, centre + width / 2)


def _min_max(values: np.ndarray) -> np.ndarray:
    """Stretch the plane's own range; NaN and inf (possible in NIfTI floats) are left out of it."""
    finite = np.isfinite(values)
    kept = values if finite.all() else values[finite]
    if kept.size == 0:
        return np.zeros(values.shape, np.uint8)
    return _scale(values, float(kept.min()), float(kept.max()))


def _read_dataset(path):
    """The data set with pixel data, read with ``force`` when it has no preamble or File Meta."""
    pydicom = _optional("pydicom")
    bare = False
    try:
        try:
            ds = pydicom.dcmread(path)
        except pydicom.errors.InvalidDicomError as exc:
            ds, bare = pydicom.dcmread(path, force=True), str(exc)
    except Exception as exc:  # truncated or corrupt headers raise many kinds of error
        raise MedicalImageError(path, f"unreadable DICOM ({type(exc).__name__}: {exc})") from exc
    has_pixels = any(keyword in ds for keyword in _PIXEL_KEYWORDS)
    if bare and not has_pixels and "SOPClassUID" not in ds and "Modality" not in ds:
        raise MedicalImageError(path, f"not a DICOM file ({bare}; read with force it holds no DICOM image)")
    if not has_pixels:
        where = "; the file has no File Meta Information either" if bare else ""
        raise MedicalImageError(path, f"no pixel data (PixelData element missing{where})")
    if "TransferSyntaxUID" not in ds.file_meta:
        ds.file_meta.TransferSyntaxUID = _syntax_of_encoding(ds, path)
    return ds


def _syntax_of_encoding(ds, path):
    """A file without a Transfer Syntax UID: native pixel data is encoded as the data set itself is."""
    uid = _optional("pydicom.uid")
    if "PixelData" in ds and ds["PixelData"].is_undefined_length:
        raise MedicalImageError(path, "compressed pixel data without a Transfer Syntax UID: the codec is unknown")
    implicit, little = ds.original_encoding
    if implicit and not little:
        raise MedicalImageError(path, "implicit VR big endian is not a DICOM encoding")
    return uid.ImplicitVRLittleEndian if implicit else uid.ExplicitVRLittleEndian if little else uid.ExplicitVRBigEndian


def _check_decodable(ds, path) -> None:
    """Name what is missing before pydicom's all-plugins-failed message: an Image Pixel module element,
    or a decoder for the syntax (and the packages that would bring one)."""
    missing = [keyword for keyword in _IMAGE_PIXEL_KEYWORDS if keyword not in ds]
    if missing:
        raise MedicalImageError(path, f"incomplete Image Pixel module (no {', '.join(missing)})")
    if "PixelData" not in ds:  # float pixel data is always native
        return
    syntax = ds.file_meta.TransferSyntaxUID
    pixels = _optional("pydicom.pixels")
    try:
        decoder = pixels.get_decoder(syntax)
    except NotImplementedError:
        raise MedicalImageError(path, f"transfer syntax {syntax.name} ({syntax}): pydicom has no decoder for it "
                                      "(video and other non-image codecs)") from None
    if decoder.is_available:
        return
    ours = importlib.import_module("pydicom.pixels.decoders.pylibjpeg").DECODER_DEPENDENCIES.get(syntax)
    fix = (f'pip install "selfplay[medical]" (brings {" and ".join(ours)})' if ours else
           "install one of: " + "; ".join(decoder.missing_dependencies))
    raise MedicalImageError(path, f"transfer syntax {syntax.name} ({syntax}): no installed plugin decodes it; {fix}")


def _dicom_frame(ds, path, frame: int | None) -> np.ndarray:
    """Decode only the wanted frame of a multi-frame file; the middle one unless told."""
    count = _header_int(ds, "NumberOfFrames", 1, path) or 1
    if frame is not None and not 0 <= frame < count:
        raise MedicalImageError(path, f"frame {frame} out of range: the file has {count} frame(s)")
    if count > 1:
        ds.pixel_array_options(index=count // 2 if frame is None else frame)
    _check_decodable(ds, path)
    try:
        return ds.pixel_array
    except Exception as exc:  # decoders raise many kinds; a truncated PixelData is the common one
        raise MedicalImageError(path, f"cannot decode pixel data ({type(exc).__name__}: {exc})") from exc


def _header_int(ds, keyword: str, default: int, path) -> int:
    """An integer header value; a malformed one (an IS of "1A") is the file's fault, said so."""
    try:
        return int(ds.get(keyword, default))
    except (TypeError, ValueError) as exc:
        raise MedicalImageError(path, f"unreadable DICOM (bad {keyword}: {exc})") from exc


def _palette_to_rgb(ds, arr: np.ndarray) -> Image.Image:
    """PALETTE COLOR: stored indices through the file's red, green and blue LUTs (8 or 16 bits each)."""
    rgb = _optional("pydicom.pixels").apply_color_lut(arr, ds)
    bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    return Image.fromarray(rgb if rgb.dtype == np.uint8 else _scale(rgb, 0, 2 ** bits - 1), "RGB")


def _first_value(ds, keyword: str) -> float:
    """Window Center/Width may list alternative windows; the first is the one to show by default."""
    elem = ds[keyword]
    return float(elem.value[0] if elem.VM > 1 else elem.value)


def _dicom_file_window(ds, values: np.ndarray, path) -> np.ndarray | None:
    """The window the file asks for: its VOI LUT Sequence, else its first Window Center/Width."""
    pixels = _optional("pydicom.pixels")
    if ds.get("VOILUTSequence"):
        entries, first, _ = ds.VOILUTSequence[0].LUTDescriptor
        lut = pixels.apply_voi_lut(np.arange(first, first + (entries or 2**16)), ds)  # its output range
        voi = pixels.apply_voi_lut(np.rint(values).astype(np.int64), ds)
        return _scale(voi, float(lut.min()), float(lut.max()))
    if "WindowCenter" not in ds or "WindowWidth" not in ds:
        return None
    centre, width = _first_value(ds, "WindowCenter"), _first_value(ds, "WindowWidth")
    if not width > 0:
        raise MedicalImageError(path, f"Window Width {width} is not positive")
    if str(ds.get("VOILUTFunction", "LINEAR")).upper() == "SIGMOID":
        with np.errstate(over="ignore"):  # far below the centre exp overflows to inf, which maps to 0
            return _to_uint8(1.0 / (1.0 + np.exp(-4.0 * (values - centre) / width)))
    return _apply_window(values, centre, width)


def read_dicom(path, *, window: str | tuple[float, float] | None = None,
               frame: int | None = None) -> Image.Image:
    """One DICOM frame as an 8-bit image: mode "L" (MONOCHROME1 inverted so dense is bright), or "RGB"
    (three samples, or PALETTE COLOR through its LUT).

    Stored values go through the Modality LUT (Rescale Slope/Intercept, so CT is in HU) before the
    window; see the module docstring for which window is used.
    """
    centre_width = _resolve_window(window)
    ds = _read_dataset(path)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    samples = _header_int(ds, "SamplesPerPixel", 1, path)
    if photometric not in ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR") and samples != 3:
        raise MedicalImageError(path, f"unsupported Photometric Interpretation {photometric}")
    arr = _dicom_frame(ds, path, frame)
    if photometric == "PALETTE COLOR":
        return _palette_to_rgb(ds, arr)
    if arr.ndim == 3 and arr.shape[-1] == 3:  # RGB (YBR is converted to RGB by pydicom)
        rgb = arr if arr.dtype == np.uint8 else _scale(arr, 0, 2 ** int(ds.BitsStored) - 1)
        return Image.fromarray(rgb, "RGB")
    values = np.asarray(_optional("pydicom.pixels").apply_modality_lut(arr, ds), np.float64)
    if centre_width is not None:
        out = _apply_window(values, *centre_width)
    else:
        out = _dicom_file_window(ds, values, path)
        out = _min_max(values) if out is None else out
    if photometric == "MONOCHROME1":
        out = 255 - out
    return Image.fromarray(out, "L")


def read_nifti(path, *, slice_index: int | None = None, axis: int = 2, window=None) -> Image.Image:
    """One slice of a NIfTI volume as an 8-bit "L" image; axis 2 is axial after reorienting to RAS.

    The volume is reoriented to the closest canonical (RAS+) orientation first, so ``axis`` means the
    same anatomy for every file; the slice is then ``np.rot90``-ed so anterior (or superior) is up,
    with the patient's right on the viewer's right (neurological convention). Extra dimensions past
    the third (time, echoes) take their first index. The middle slice is the default.
    """
    centre_width = _resolve_window(window)
    nibabel = _optional("nibabel")
    try:
        img = nibabel.as_closest_canonical(nibabel.load(path))
        shape = img.shape
        if len(shape) < 3 or not 0 <= axis < 3:
            raise ValueError(f"need a 3-D volume and axis in 0..2, got shape {shape} and axis {axis}")
        index = shape[axis] // 2 if slice_index is None else slice_index
        if not 0 <= index < shape[axis]:
            raise ValueError(f"slice {index} out of range: axis {axis} has {shape[axis]} slices")
        key = [slice(None)] * 3 + [0] * (len(shape) - 3)
        key[axis] = index
        values = np.rot90(np.asarray(img.dataobj[tuple(key)], np.float64))
    except Exception as exc:  # nibabel raises ImageFileError, EOFError, zlib errors... on bad files
        raise MedicalImageError(path, f"unreadable NIfTI ({type(exc).__name__}: {exc})") from exc
    out = _min_max(values) if centre_width is None else _apply_window(values, *centre_width)
    return Image.fromarray(np.ascontiguousarray(out), "L")


def _read_plain(path) -> Image.Image:
    """A PNG/JPEG radiograph: 8-bit L and RGB pass through, higher bit depths scale by their min-max."""
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("L", "RGB"):
                return img.copy()
            if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
                return Image.fromarray(_min_max(np.asarray(img, np.float64)), "L")
            return img.convert("L" if img.mode in ("LA", "La", "1") else "RGB")
    except Exception as exc:  # PIL raises UnidentifiedImageError, OSError (truncated), ...
        raise MedicalImageError(path, f"unreadable image ({type(exc).__name__}: {exc})") from exc


def read_medical_image(path, *, window=None, frame=None, slice_index=None) -> Image.Image:
    """Read any supported file by its suffix; unknown suffixes are tried as DICOM.

    ``window`` applies to DICOM and NIfTI (PNG/JPEG carry no HU), ``frame`` to DICOM, ``slice_index``
    to NIfTI.
    """
    suffix = _suffix(path)
    if suffix in _NIFTI_SUFFIXES:
        return read_nifti(path, slice_index=slice_index, window=window)
    if suffix in _PLAIN_SUFFIXES:
        return _read_plain(path)
    return read_dicom(path, window=window, frame=frame)
