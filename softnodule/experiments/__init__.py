"""Experiments, one sub-package per paper beside the shared run engine.

* ``engine``: what every table shares (trained variants, notebook data, statistics, claims, report);
* ``dsnet``: DSNet / SoftGAN (TNNLS and conference tables, the Soft Mask pipeline, SR pretraining);
* ``casgan``: CasGAN (segmentation tables, radiomics);
* ``lgan``: LGAN (lung segmentation with WGAN critics).

Each paper package holds its own paper numbers (``paper_numbers.py``).
"""
