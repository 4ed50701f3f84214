"""``softnodule data export``: one case of any source as a self-describing ``.npz`` anyone can open.

The file holds the HU image, every reader's mask, the 50 % consensus, the Soft Mask of the chosen
trimap strategy (and its trimap), the RECIST endpoints (DeepLesion's 8-number order), the true
alpha where the source knows it (the phantom) and a JSON ``meta`` string (source, spacing, ids,
strategy, notes), so a reader can look at exactly what the datasets are built from.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_write_bytes
from .case import NoduleCase
from .sources import check_source_name, require_source


def load_case(case_id: str, source: str, *, size: int = 64) -> NoduleCase:
    """The case of one LIDC nodule id (phantom, lidc-crops, lidc-dicom) or DeepLesion lesion id."""
    check_source_name(source)
    require_source(source)
    if source == "deeplesion":
        from .sources.deeplesion import deeplesion_case, deeplesion_root, read_dl_info

        root = deeplesion_root()
        rows, _ = read_dl_info(root / "DL_info.csv")
        by_id = {r.lesion_id: r for r in rows}
        if case_id not in by_id:
            raise KeyError(f"no lung lesion {case_id!r} in {root / 'DL_info.csv'} (ids look like 'DL-000001_01_01_109-l0')")
        return deeplesion_case(by_id[case_id], root, size)
    from .lidc.index import load_nodule_index
    from .sources.nodule_sources import open_nodule_source

    index = load_nodule_index(progress=False)
    record = index[case_id]
    return open_nodule_source(source, index, progress=False).case(record, size=size, appearance="lidc")


def export_case(case_id: str, source: str, out: str | Path, *, strategy: int | None = None,
                size: int = 64) -> dict[str, Any]:
    """Write one case to ``out`` (atomically) and return what was written.

    ``strategy`` defaults to (2) readers when the case has at least two reader masks, else (3) RECIST.
    """
    from ..matting.pipeline import soft_mask_from_readers, soft_mask_from_recist

    case = load_case(case_id, source, size=size)
    n_readers = int(case.readers.shape[0])
    strategy = strategy or (2 if n_readers >= 2 else 3)
    if strategy == 2:
        if n_readers == 0:
            raise ValueError(f"{case_id}: strategy (2) needs reader masks; {source} has none: use --strategy 3")
        sm = soft_mask_from_readers(case.image, case.readers)
    elif strategy == 3:
        sm = soft_mask_from_recist(case.image, case.recist)
    else:
        raise ValueError(f"strategy must be 2 (readers) or 3 (RECIST), got {strategy}")
    arrays: dict[str, np.ndarray] = {
        "image_hu": case.image.astype(np.float32),
        "readers": case.readers.astype(bool),
        "soft_mask": np.asarray(sm.alpha, dtype=np.float32),
        "trimap": np.asarray(sm.trimap, dtype=np.uint8),
        "recist": case.recist.as_deeplesion().astype(np.float32),
    }
    if case.consensus is not None:
        arrays["consensus"] = case.consensus.astype(bool)
    if case.true_alpha is not None:
        arrays["true_alpha"] = case.true_alpha.astype(np.float32)
    meta = {"case_id": case.case_id, "source": case.source, "patient_id": case.patient_id,
            "spacing_mm": case.spacing_mm, "strategy": strategy, "n_readers": n_readers,
            "recist_mm": [case.recist.long_mm, case.recist.short_mm], "ratings": case.ratings,
            "notes": list(sm.notes), "case_meta": {k: v for k, v in case.meta.items()
                                                   if isinstance(v, (str, int, float, bool, list, tuple))}}
    buf = io.BytesIO()
    np.savez_compressed(buf, meta=np.array(json.dumps(meta, default=str)), **arrays)
    path = atomic_write_bytes(Path(out), buf.getvalue())
    return {"path": str(path), "arrays": sorted(arrays), **meta}
