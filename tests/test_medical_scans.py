"""Medical readers on real files written with pydicom, nibabel and PIL."""


import numpy as np
import pytest
from PIL import Image

from selfplay.medical.scans import MedicalImageError, is_medical_file, read_dicom, read_medical_image, read_nifti

pydicom = pytest.importorskip("pydicom")
from dicom_files import write_dicom  # noqa: E402
from pydicom.dataset import Dataset  # noqa: E402
from pydicom.sequence import Sequence  # noqa: E402


def values(img):
    return np.asarray(img)


def test_monochrome2_without_window_uses_min_max(tmp_path):
    img = read_dicom(write_dicom(tmp_path / "a.dcm", np.array([[0, 1000], [2000, 4095]], np.uint16),
                                 bits_stored=12))
    assert img.mode == "L" and img.size == (2, 2)
    assert values(img).tolist() == [[0, 62], [125, 255]]


def test_monochrome1_is_inverted(tmp_path):
    img = read_dicom(write_dicom(tmp_path / "a.dcm", np.array([[0, 4095]], np.uint16),
                                 photometric="MONOCHROME1", bits_stored=12))
    assert values(img).tolist() == [[255, 0]]


def test_rescale_then_file_window(tmp_path):
    # stored s -> HU = s - 1024; window 40/400 spans -160..240 HU
    hu = np.array([[-1000, -160, 40, 240, 1000]])
    path = write_dicom(tmp_path / "ct.dcm", (hu + 1024).astype(np.uint16), RescaleSlope=1,
                       RescaleIntercept=-1024, WindowCenter=[40, 400], WindowWidth=[400, 1500])
    assert values(read_dicom(path)).tolist() == [[0, 0, 128, 255, 255]]


def test_signed_pixels_and_lung_preset(tmp_path):
    hu = np.array([[-1350, -600, 150, 3000]], np.int16)  # lung window (-600, 1500): -1350..150 HU
    path = write_dicom(tmp_path / "ct.dcm", hu, WindowCenter=40, WindowWidth=400)
    assert values(read_dicom(path, window="lung")).tolist() == [[0, 128, 255, 255]]
    assert values(read_dicom(path, window=(-600, 1500))).tolist() == [[0, 128, 255, 255]]


def test_sigmoid_window_and_rgb_pass_through(tmp_path):
    path = write_dicom(tmp_path / "s.dcm", np.array([[0, 200, 4000]], np.uint16), WindowCenter=200,
                       WindowWidth=100, VOILUTFunction="SIGMOID")
    assert values(read_dicom(path)).tolist() == [[0, 128, 255]]
    rgb = np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)
    path = write_dicom(tmp_path / "rgb.dcm", np.zeros((1, 2), np.uint16), SamplesPerPixel=3,
                       PhotometricInterpretation="RGB", PlanarConfiguration=0, BitsAllocated=8, BitsStored=8,
                       HighBit=7, PixelData=rgb.tobytes())
    img = read_dicom(path)
    assert img.mode == "RGB" and values(img).tolist() == rgb.tolist()


def test_unknown_preset_is_a_config_error(tmp_path):
    path = write_dicom(tmp_path / "ct.dcm", np.zeros((2, 2), np.uint16))
    with pytest.raises(ValueError, match="window='liver'.*bone.*brain.*lung.*mediastinum") as info:
        read_dicom(path, window="liver")
    assert not isinstance(info.value, MedicalImageError)


def test_voi_lut_sequence(tmp_path):
    item = Dataset()
    item.LUTDescriptor = [4, 10, 16]  # 4 entries, first maps stored value 10
    item.add_new("LUTData", "OW", np.array([0, 1000, 3000, 4000], "<u2").tobytes())  # OW: raw bytes
    path = write_dicom(tmp_path / "voi.dcm", np.array([[0, 10, 11, 12, 13, 99]], np.uint16),
                       VOILUTSequence=Sequence([item]))
    assert values(read_dicom(path)).tolist() == [[0, 0, 64, 191, 255, 255]]


def test_multi_frame_picks_middle_or_asked_frame(tmp_path):
    frames = np.stack([np.full((4, 4), v, np.uint16) for v in (100, 200, 300)])
    path = write_dicom(tmp_path / "mf.dcm", frames, WindowCenter=200, WindowWidth=200)
    assert set(values(read_dicom(path)).ravel()) == {128}
    assert set(values(read_dicom(path, frame=0)).ravel()) == {0}
    assert set(values(read_medical_image(path, frame=2)).ravel()) == {255}
    with pytest.raises(MedicalImageError, match="mf.dcm: frame 5 out of range: the file has 3 frame"):
        read_dicom(path, frame=5)


def test_truncated_dicom_names_the_file(tmp_path):
    path = write_dicom(tmp_path / "cut.dcm", np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MedicalImageError, match="cut.dcm: ") as info:
        read_dicom(path)
    assert info.value.path == str(path) and info.value.reason


def test_not_dicom_and_missing_pixel_data(tmp_path):
    (tmp_path / "x.dcm").write_text("hello")
    with pytest.raises(MedicalImageError, match="x.dcm: not a DICOM file"):
        read_dicom(tmp_path / "x.dcm")
    path = write_dicom(tmp_path / "empty.dcm", np.zeros((0, 0), np.uint16))
    with pytest.raises(MedicalImageError, match="empty.dcm: no pixel data"):
        read_medical_image(path)


def test_is_medical_file_by_suffix_or_magic(tmp_path):
    uid_named = write_dicom(tmp_path / "1.2.840.10008.504", np.zeros((2, 2), np.uint16))
    (tmp_path / "notes.txt").write_text("x" * 200)
    assert is_medical_file(uid_named) and is_medical_file("a/b.NII.GZ") and is_medical_file("c.jpeg")
    assert not is_medical_file(tmp_path / "notes.txt") and not is_medical_file(tmp_path / "missing")
    assert read_medical_image(uid_named).mode == "L"


def test_nifti_middle_slice_and_window(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    volume = np.zeros((6, 5, 7), np.float32)
    volume[:, :, 3] = -600.0
    volume[0, 4, 3] = 900.0  # x=0 (left), y=4 (anterior): top-left after rot90
    volume[5, 0, 3] = np.nan  # bottom-right: black, and out of the min-max range
    path = tmp_path / "ct.nii.gz"
    nibabel.save(nibabel.Nifti1Image(volume, np.eye(4)), path)
    img = read_medical_image(path, window="lung")
    assert img.mode == "L" and img.size == (6, 5)
    assert values(img)[0, 0] == 255 and values(img)[1, 1] == 128 and values(img)[-1, -1] == 0
    assert values(read_nifti(path))[1, 1] == 0 and values(read_nifti(path))[0, 0] == 255
    assert set(values(read_nifti(path, slice_index=0)).ravel()) == {0}
    assert values(read_nifti(path, axis=0, slice_index=0)).shape == (7, 5)
    (tmp_path / "bad.nii").write_bytes(b"\0" * 10)
    with pytest.raises(MedicalImageError, match="bad.nii: unreadable NIfTI"):
        read_nifti(tmp_path / "bad.nii")


def test_png_16_bit_scaled_and_8_bit_kept(tmp_path):
    Image.fromarray(np.array([[1000, 2000], [3000, 5000]], np.uint16)).save(tmp_path / "r.png")
    img = read_medical_image(tmp_path / "r.png", window="lung")
    assert img.mode == "L" and values(img).tolist() == [[0, 64], [128, 255]]
    Image.new("RGB", (3, 2), (10, 20, 30)).save(tmp_path / "c.png")
    assert read_medical_image(tmp_path / "c.png").getpixel((0, 0)) == (10, 20, 30)
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(MedicalImageError, match="bad.jpg: unreadable image"):
        read_medical_image(tmp_path / "bad.jpg")
