"""Medical imagery with radiology reports: ``scans`` reads DICOM/NIfTI/PNG to 8-bit images, ``reports``
finds and cuts an image's report, ``prepare`` is `selfplay prepare medical`."""
