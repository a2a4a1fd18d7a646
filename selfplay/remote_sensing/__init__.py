"""Remote-sensing scenes with captions: ``rasters`` reads GeoTIFF/RGB scenes to 8-bit tiles, ``captions``
reads caption files, ``prepare`` is `selfplay prepare remote-sensing`."""
