"""Caption files on disk: the RSICD shape and a flat mapping read, a malformed one named by its field."""

import json

import pytest

from selfplay.remote_sensing.captions import read_captions
from selfplay.remote_sensing.rasters import RasterError


def test_read_captions_rsicd_and_flat(tmp_path):
    airport = [{"raw": " many planes ", "tokens": ["many", "planes"]}, {"raw": "an airport"}]
    rsicd = {"images": [
        {"filename": "airport_1.jpg", "split": "train", "sentences": airport},
        {"filename": "beach_2.jpg", "split": "test", "sentences": [{"raw": "waves on sand"}]},
        {"filename": "airport_1.jpg", "split": "train", "sentences": [{"raw": "runways"}]},
    ]}
    (tmp_path / "rsicd.json").write_text(json.dumps(rsicd))
    assert read_captions(tmp_path / "rsicd.json") == {
        "airport_1.jpg": ["many planes", "an airport", "runways"], "beach_2.jpg": ["waves on sand"]
    }
    (tmp_path / "flat.json").write_text(json.dumps({"x.jpg": ["a field", "green"], "y.jpg": "a road"}))
    assert read_captions(tmp_path / "flat.json") == {"x.jpg": ["a field", "green"], "y.jpg": ["a road"]}


def test_read_captions_names_the_bad_field(tmp_path):
    bad = {"images": [{"filename": "a.jpg", "sentences": [{"text": "x"}]}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(RasterError, match=r"bad\.json: images\[0\]\.sentences\[0\] has no 'raw' string"):
        read_captions(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match=r"broken\.json"):
        read_captions(tmp_path / "broken.json")
