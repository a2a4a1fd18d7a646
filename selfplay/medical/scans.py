"""Medical imagery to 8-bit PIL images for a VLM: DICOM, NIfTI and PNG/JPEG radiographs.

A VLM sees 8-bit pictures, while a CT stores 12-16 bit values in Hounsfield units (HU) and a NIfTI
volume stores floats. Readers here pick one 2-D plane (a frame, a slice), map its values through a
window to 0-255 and return a PIL image, so the rest of selfplay treats a scan like any photograph.

Windowing is clip-and-scale (DICOM's LINEAR_EXACT): values at or below ``centre - width/2`` map to 0,
at or above ``centre + width/2`` to 255, linearly between. DICOM's LINEAR formula shifts that by half
a stored unit, which is under one grey level for the usual CT widths. The window is, in order: the
caller's (a preset name from ``WINDOW_PRESETS`` or ``(centre, width)``), the file's own (VOI LUT
Sequence, else the first Window Center/Width), else the plane's own min-max.

pydicom and nibabel are optional: ``pip install "selfplay[medical]"``. A file that cannot be read
raises ``MedicalImageError`` naming the file and the reason, so the data loader can skip and record it.
"""

from __future__ import annotations

import importlib
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
    """True for a known suffix, or for a DICOM file named without one (UIDs like ``1.2.840...504``)."""
    if _suffix(path):
        return True
    try:
        with open(path, "rb") as f:
            f.seek(_DICOM_MAGIC_OFFSET)
            return f.read(4) == b"DICM"
    except OSError:
        return False


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
    pydicom = _optional("pydicom")
    try:
        ds = pydicom.dcmread(path)
    except pydicom.errors.InvalidDicomError as exc:
        raise MedicalImageError(path, f"not a DICOM file ({exc})") from exc
    except Exception as exc:  # truncated or corrupt headers raise many kinds of error
        raise MedicalImageError(path, f"unreadable DICOM ({type(exc).__name__}: {exc})") from exc
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise MedicalImageError(path, "no pixel data (PixelData element missing)")
    return ds


def _dicom_frame(ds, path, frame: int | None) -> np.ndarray:
    """Decode only the wanted frame of a multi-frame file; the middle one unless told."""
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if frame is not None and not 0 <= frame < count:
        raise MedicalImageError(path, f"frame {frame} out of range: the file has {count} frame(s)")
    if count > 1:
        ds.pixel_array_options(index=count // 2 if frame is None else frame)
    try:
        return ds.pixel_array
    except Exception as exc:  # decoders raise many kinds; a truncated PixelData is the common one
        raise MedicalImageError(path, f"cannot decode pixel data ({type(exc).__name__}: {exc})") from exc


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
    """One DICOM frame as an 8-bit image: mode "L" (MONOCHROME1 inverted so dense is bright), or "RGB".

    Stored values go through the Modality LUT (Rescale Slope/Intercept, so CT is in HU) before the
    window; see the module docstring for which window is used.
    """
    centre_width = _resolve_window(window)
    ds = _read_dataset(path)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric not in ("MONOCHROME1", "MONOCHROME2") and int(ds.get("SamplesPerPixel", 1)) != 3:
        raise MedicalImageError(path, f"unsupported Photometric Interpretation {photometric}")
    arr = _dicom_frame(ds, path, frame)
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
