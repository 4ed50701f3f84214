"""Data: the pylidc bridge, the nodule index, image sources (phantom, real DICOM) and datasets."""
