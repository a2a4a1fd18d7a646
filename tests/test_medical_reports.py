"""Report text helpers on strings: sections of a free-text report, the text paired with an image."""

import pytest

from selfplay.medical.reports import report_sections, report_text

MIMIC_REPORT = """                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)

 INDICATION:  ___F with cough  // eval for pneumonia

 COMPARISON:  None.

 FINDINGS:

 There is no focal consolidation, pleural effusion or pneumothorax.  Heart size
 is normal.

 IMPRESSION:

 No acute cardiopulmonary process.
"""


def test_report_sections_mimic_style():
    sections = report_sections(MIMIC_REPORT)
    assert sections["findings"] == ("There is no focal consolidation, pleural effusion or pneumothorax. "
                                    "Heart size is normal.")
    assert sections["impression"] == "No acute cardiopulmonary process."
    assert sections["indication"] == "___F with cough // eval for pneumonia"
    assert {"preamble", "examination", "comparison"} <= set(sections)
    assert report_text(MIMIC_REPORT, "impression") == "No acute cardiopulmonary process."
    assert report_text(MIMIC_REPORT, "both").startswith("Findings: There is no focal")
    assert report_text({"text": MIMIC_REPORT}).endswith("Heart size is normal.")


def test_report_text_iu_style_dict():
    row = {"findings": "The lungs are clear.", "impression": "Normal chest."}
    assert report_text(row) == "The lungs are clear."
    assert report_text(row, "both") == "Findings: The lungs are clear.\nImpression: Normal chest."
    assert report_text({"findings": float("nan"), "impression": "Normal chest."}) == "Normal chest."
    assert report_text({"findings": None, "impression": " "}) is None
    assert report_text("INDICATION: cough", "findings") is None
    assert report_text("The lungs are clear.") == "The lungs are clear."
    with pytest.raises(ValueError, match="section='all'"):
        report_text(row, "all")
