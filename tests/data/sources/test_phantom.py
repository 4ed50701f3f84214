"""The phantom renderer on hand-built records (circles / ellipses): no nodule index needed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from softnodule.data.case import RATING_NAMES, NoduleCase, NoduleRecord
from softnodule.data.sources.phantom import (
    APPEARANCES,
    LIDC_APPEARANCE,
    LNSM_APPEARANCE,
    ScannerAppearance,
    render_case,
)
from softnodule.data.realism import nodule_hu, parenchyma_stats

SPACING = 0.7
CENTRE = (250.3, 260.6)


def _ellipse(centre, a, b, n=72, angle=0.0):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = a * np.cos(t)
    c = b * np.sin(t)
    ca, sa = np.cos(angle), np.sin(angle)
    return np.stack([centre[0] + ca * r - sa * c, centre[1] + sa * r + ca * c], axis=1)


def make_record(
    readers=None,
    nodule_id="TEST-0001/n01",
    spacing=SPACING,
    **ratings,
) -> NoduleRecord:
    """A record with circle/ellipse outlines; ``readers`` = list of polygon lists (one per reader)."""
    if readers is None:  # four readers around a ~10 mm nodule, slightly different sizes
        readers = [[_ellipse(CENTRE, 7.5 + d, 7.0 + d)] for d in (0.0, 0.4, -0.3, 0.8)]
    base = {name: 3 for name in RATING_NAMES}
    base.update({"texture": 5, "calcification": 6, "internalStructure": 1, "margin": 4, "spiculation": 1})
    base.update(ratings)
    allpts = np.concatenate([p for r in readers for p in r]) if any(readers) else np.array([CENTRE])
    return NoduleRecord(
        nodule_id=nodule_id,
        patient_id=nodule_id.split("/")[0],
        scan_id=1,
        study_uid="1.2.3",
        series_uid="1.2.3.4",
        pixel_spacing=spacing,
        slice_thickness=2.5,
        annotation_ids=tuple(range(1, len(readers) + 1)),
        ratings=tuple(dict(base) for _ in readers),
        key_z=-100.0,
        key_slice_index=10,
        key_polygons=tuple(tuple(np.asarray(p, float) for p in r) for r in readers),
        key_inclusion=tuple(tuple(True for _ in r) for r in readers),
        diameters_mm=tuple(10.0 for _ in readers),
        consensus_area_px=100,
        centroid_rc=(float(allpts[:, 0].mean()), float(allpts[:, 1].mean())),
        n_slices=4,
    )


def _same(a: NoduleCase, b: NoduleCase) -> bool:
    return (
        np.array_equal(a.image, b.image)
        and np.array_equal(a.readers, b.readers)
        and np.array_equal(a.consensus, b.consensus)
        and np.array_equal(a.true_alpha, b.true_alpha)
        and np.array_equal(a.recist.long_axis, b.recist.long_axis)
        and np.array_equal(a.recist.short_axis, b.recist.short_axis)
        and a.meta == b.meta
    )


def test_types_shapes_and_bookkeeping():
    rec = make_record()
    c = render_case(rec, seed=3)
    assert isinstance(c, NoduleCase)
    assert c.case_id == "TEST-0001/n01@phantom" and c.source == "phantom" and c.patient_id == "TEST-0001"
    assert c.image.shape == (64, 64) and c.image.dtype == np.float32
    assert c.readers.shape == (4, 64, 64) and c.readers.dtype == bool
    assert c.consensus.shape == (64, 64) and c.consensus.dtype == bool
    assert c.true_alpha.dtype == np.float32 and c.true_alpha.shape == (64, 64)
    assert 0.0 <= c.true_alpha.min() and c.true_alpha.max() <= 1.0
    assert c.spacing_mm == SPACING and c.size == 64
    assert c.ratings["texture"] == 5.0 and set(c.ratings) == set(RATING_NAMES)
    for key in ("appearance", "seed", "origin_rc", "offset_rc", "touches_border", "empty_consensus"):
        assert key in c.meta
    assert c.meta["appearance"] == "lidc" and c.meta["seed"] == 3
    assert not c.meta["touches_border"] and not c.meta["empty_consensus"]
    assert np.isfinite(c.image).all() and c.image.min() >= -1024
    assert np.array_equal(c.image, np.rint(c.image))  # stored as integer HU, like DICOM


def test_deterministic_by_seed_and_independent_of_global_state():
    rec = make_record()
    a = render_case(rec, seed=7)
    np.random.seed(123)
    _ = np.random.random(10)
    b = render_case(rec, seed=7)
    assert _same(a, b)
    c = render_case(rec, seed=8)
    assert not np.array_equal(a.image, c.image)
    other = render_case(dataclasses.replace(rec, nodule_id="TEST-0002/n01"), seed=7)
    assert not np.array_equal(a.image, other.image)


def test_crop_is_centred_on_the_nodule_with_a_small_offset():
    rec = make_record()
    offsets = set()
    for seed in range(12):
        c = render_case(rec, seed=seed, max_offset_px=3)
        r0, c0 = c.meta["origin_rc"]
        assert float(r0).is_integer() and float(c0).is_integer()  # on the scan's pixel grid
        assert max(abs(o) for o in c.meta["offset_rc"]) <= 3
        offsets.add(tuple(c.meta["offset_rc"]))
        w = c.true_alpha
        rr, cc = np.mgrid[0:64, 0:64]
        cen = ((rr * w).sum() / w.sum() + r0, (cc * w).sum() / w.sum() + c0)
        assert abs(cen[0] - CENTRE[0]) < 0.3 and abs(cen[1] - CENTRE[1]) < 0.3  # full-slice coords agree
    assert len(offsets) > 3
    c = render_case(rec, seed=0, max_offset_px=0)
    assert c.meta["offset_rc"] == (0, 0)


def test_true_alpha_consistent_with_consensus():
    rec = make_record()
    c = render_case(rec, seed=1)
    a = c.true_alpha
    union = (a > 0) | c.consensus
    agree = ((a >= 0.5) == c.consensus)[union].mean()
    assert agree > 0.95
    assert a.sum() == pytest.approx(c.consensus.sum(), rel=0.1)
    assert (a[c.consensus] > 0).all()
    # readers: 1x masks are the >= 50 % covered pixels of each reader's own shape
    assert c.readers.sum(axis=(1, 2)).min() > 0.8 * c.consensus.sum()


def test_partial_volume_uses_true_alpha():
    """Without noise, blur, texture or vessels the image is background + alpha * contrast."""
    clean = ScannerAppearance(
        name="clean", noise_hu=0.0, noise_corr_mm=0.0, psf_sigma_mm=0.0, parenchyma_hu=-850.0,
        parenchyma_texture_hu=0.0, vessel_hu=(0.0, 0.0), vessel_density=0.0, dot_density=0.0,
        chest_wall_prob=0.0, window=(-600.0, 1600.0), variability=0.0,
    )
    rec = make_record(margin=5, spiculation=1)
    vals = []
    for seed in range(6):
        c = render_case(rec, seed=seed, appearance=clean)
        if c.meta["n_vessel_segments"]:  # vessels that touch the nodule are drawn regardless
            continue
        a = c.true_alpha
        edge = (a > 0.05) & (a < 0.95)
        A = np.stack([np.ones(edge.sum()), a[edge]], axis=1)
        coef, *_ = np.linalg.lstsq(A, c.image[edge], rcond=None)
        pred = A @ coef
        r2 = 1 - ((c.image[edge] - pred) ** 2).sum() / ((c.image[edge] - c.image[edge].mean()) ** 2).sum()
        vals.append(r2)
        assert coef[1] > 700  # solid nodule on lung: ~ +850 HU of contrast
    assert vals and min(vals) > 0.97


@pytest.mark.parametrize("size", [16, 65, 96, 128])
def test_other_crop_sizes(size):
    c = render_case(make_record(), seed=2, size=size)
    assert c.image.shape == (size, size) and c.readers.shape == (4, size, size)
    assert c.true_alpha.shape == (size, size) and c.consensus.any()
    assert c.meta["touches_border"] == (size == 16)  # a ~10 mm (14 px) nodule fills a 16 px crop


def test_texture_ordering_solid_part_solid_ggo():
    big = [[_ellipse(CENTRE, 11.0 + d, 10.0 + d)] for d in (0.0, 0.5, -0.5)]
    hu = {}
    for tex in (1, 3, 5):
        cases = [render_case(make_record(big, texture=tex), seed=s) for s in range(4)]
        vals = [nodule_hu(c.image, c.consensus) for c in cases]
        hu[tex] = float(np.median(vals))
    assert hu[5] > hu[3] > hu[1]
    assert -760 < hu[1] < -400  # ground glass
    assert -120 < hu[5] < 120  # soft tissue


def test_calcification_and_cavity():
    big = [[_ellipse(CENTRE, 11.0 + d, 10.0 + d)] for d in (0.0, 0.5, -0.5)]
    calc = render_case(make_record(big, calcification=3), seed=0)
    assert nodule_hu(calc.image, calc.consensus) > 150
    assert calc.meta["calcification_pattern"] == 3
    for pattern in (1, 2, 4, 5):
        c = render_case(make_record(big, calcification=pattern), seed=0)
        assert np.percentile(c.image[c.consensus], 95) > 150
    cav = render_case(make_record(big, internalStructure=4), seed=0)
    assert cav.meta.get("cavity") and (cav.image[cav.consensus] < -700).sum() >= 5
    # the truth is the shape: a cavity does not change the masks
    plain = render_case(make_record(big), seed=0)
    assert np.array_equal(cav.true_alpha, plain.true_alpha) and np.array_equal(cav.consensus, plain.consensus)


def test_spicules_and_chest_wall_stay_out_of_the_truth():
    rec = make_record(spiculation=5)
    ref = render_case(make_record(spiculation=1), seed=4)
    c = render_case(rec, seed=4)
    assert c.meta["n_spicules"] > 0
    assert np.array_equal(c.true_alpha, ref.true_alpha)
    walled = dataclasses.replace(LIDC_APPEARANCE, chest_wall_prob=1.0)
    for s in range(3):
        w = render_case(rec, seed=s, appearance=walled)
        plain = render_case(rec, seed=s)
        assert w.meta["chest_wall"]
        assert np.array_equal(w.true_alpha, plain.true_alpha) and np.array_equal(w.consensus, plain.consensus)
        assert (w.image > -200).sum() > (plain.true_alpha > 0.5).sum() + 20  # the wall is there


def test_lnsm_and_lidc_appearances_differ():
    rec = make_record()
    noise = {}
    for app in (LIDC_APPEARANCE, LNSM_APPEARANCE):
        cases = [render_case(rec, seed=s, appearance=app) for s in range(6)]
        noise[app.name] = np.median([parenchyma_stats(c.image, None)[1] for c in cases])
    assert noise["lidc"] > 1.3 * noise["lnsm"]
    a = render_case(rec, seed=0, appearance=LIDC_APPEARANCE)
    b = render_case(rec, seed=0, appearance=LNSM_APPEARANCE)
    assert a.meta["appearance"] == "lidc" and b.meta["appearance"] == "lnsm"
    assert np.array_equal(a.true_alpha, b.true_alpha)  # same truth, different scanner
    assert set(APPEARANCES) == {"lidc", "lnsm"}
    assert LNSM_APPEARANCE.window != LIDC_APPEARANCE.window
    n = LIDC_APPEARANCE.normalise(a.image)
    assert n.dtype == np.float32 and 0.0 <= n.min() and n.max() <= 1.0


def test_reader_without_polygon_keeps_an_empty_mask():
    readers = [[_ellipse(CENTRE, 7.0, 6.5)], [], [_ellipse(CENTRE, 7.5, 7.0)]]
    c = render_case(make_record(readers), seed=0)
    assert c.readers.shape[0] == 3
    assert not c.readers[1].any() and c.readers[0].any() and c.readers[2].any()
    assert c.consensus.any()  # 2 of 3 readers: >= 50 %


def test_empty_consensus_still_renders():
    left = (CENTRE[0], CENTRE[1] - 8.0)
    right = (CENTRE[0], CENTRE[1] + 8.0)
    readers = [[_ellipse(left, 2.5, 2.5)], [_ellipse(right, 2.5, 2.5)], [], []]
    c = render_case(make_record(readers), seed=0)
    assert c.meta["empty_consensus"] and not c.consensus.any() and not c.true_alpha.any()
    assert c.recist.long_mm > 0  # measured on the readers' union
    assert c.readers[0].any() and c.readers[1].any()


def test_recist_measured_on_the_consensus():
    rec = make_record([[_ellipse(CENTRE, 12.0, 6.0)] for _ in range(3)])  # 24 x 12 px ellipse, long axis along rows
    c = render_case(rec, seed=0)
    assert c.recist.long_mm / SPACING == pytest.approx(24.0, abs=1.5)
    assert c.recist.short_mm / SPACING == pytest.approx(12.0, abs=1.5)
    d = c.recist.long_axis[1] - c.recist.long_axis[0]
    assert abs(d[0]) > 5 * abs(d[1])
    # endpoints in crop pixel coordinates, on the nodule
    for p in c.recist.long_axis:
        assert c.true_alpha[int(round(p[0])), int(round(p[1]))] > 0 or c.consensus[int(round(p[0])), int(round(p[1]))]


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="at least 16"):
        render_case(make_record(), size=12)
    with pytest.raises(ValueError, match="TEST-0009/n02.*no reader polygon"):
        render_case(make_record([[], []], nodule_id="TEST-0009/n02"))


def test_truth_matches_the_shared_crop_annotations():
    """The renderer's fast truth equals `shapes.crop_annotations` (what the DICOM source uses)."""
    from softnodule.data.shapes import crop_annotations

    recs = [
        make_record(),
        make_record([[_ellipse(CENTRE, 12.0, 6.0, angle=0.4)], [_ellipse(CENTRE, 11.0, 7.0)], []]),
        make_record([[_ellipse(CENTRE, 30.0, 25.0)] for _ in range(2)]),  # larger than a 32 px crop
    ]
    for rec in recs:
        for size in (32, 64):
            c = render_case(rec, seed=5, size=size)
            ann = crop_annotations(rec, c.meta["origin_rc"], size, 8)
            assert np.array_equal(c.readers, ann["readers"])
            assert np.array_equal(c.consensus, ann["consensus"])
            assert np.array_equal(c.true_alpha, ann["true_alpha"])


def test_real_records_render(nodule_index):
    """Real LIDC shapes from the index (built on first use, then cached): every kind renders."""
    recs = nodule_index.records[:: max(1, len(nodule_index.records) // 40)]
    for i, rec in enumerate(recs):
        app = LIDC_APPEARANCE if i % 2 else LNSM_APPEARANCE
        c = render_case(rec, seed=i, appearance=app)
        assert c.readers.shape[0] == rec.n_readers
        assert 0.0 <= c.true_alpha.min() and c.true_alpha.max() <= 1.0
        assert np.isfinite(c.image).all() and c.recist.long_mm > 0


def test_realism_against_the_real_lidc_crop(lidc_slabs, nodule_index):
    """Phantom vs the real 4-reader nodule of LIDC-IDRI-0001 (same shape, same crop)."""
    from softnodule.data.sources import lidc_dicom as ds
    from softnodule.data.realism import edge_width_mm

    rec = max(nodule_index.for_patient("LIDC-IDRI-0001"), key=lambda r: r.n_readers)
    real = ds.dicom_case(rec, size=64)
    mean_r, noise_r = parenchyma_stats(real.image, real.consensus)
    fake = [render_case(rec, seed=s) for s in range(4)]
    mean_p = np.median([parenchyma_stats(c.image, c.consensus)[0] for c in fake])
    noise_p = np.median([parenchyma_stats(c.image, c.consensus)[1] for c in fake])
    assert abs(mean_p - mean_r) < 80  # lung density
    assert 0.6 < noise_p / noise_r < 1.6  # visible fine-grain noise + texture
    edge_r = edge_width_mm(real.image, real.consensus, real.spacing_mm)
    edge_p = np.median([edge_width_mm(c.image, c.consensus, c.spacing_mm) for c in fake])
    assert 0.5 < edge_p / edge_r < 1.5
    assert nodule_hu(real.image, real.consensus) > 0
    assert np.median([nodule_hu(c.image, c.consensus) for c in fake]) > -60  # solid, enhanced in the real scan
