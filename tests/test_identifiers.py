"""mask_identifiers on strings: what it masks, what it keeps, and that it says it is not de-identification."""

from selfplay.identifiers import mask_identifiers


def test_mask_identifiers():
    text = ("Name: John Smith  MRN: 1234567  Date: 03/04/2019, follow-up 4 March 2019 (2019-03-04). "
            "Call 617-555-0123. Dr. Lee reviewed with ___. Patient is stable, 5 mm nodule at T10.")
    assert mask_identifiers(text) == (
        "Name: [NAME]  MRN: [ID]  Date: [DATE], follow-up [DATE] ([DATE]). "
        "Call [ID]. Dr. [NAME] reviewed with ___. Patient is stable, 5 mm nodule at T10.")
    assert mask_identifiers("Signed by: Dr. Adams") == "Signed by: Dr. [NAME]"
    assert "NOT de-identification" in mask_identifiers.__doc__
