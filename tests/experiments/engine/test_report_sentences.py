"""REPORT.md sentences of the CasGAN and LGAN tables follow the numbers in the rows."""

from softnodule.experiments.engine import report


def test_casgan_sentence_names_the_best_rows():
    rows = [{"method": "UNet", "variant": "unet", "mean": "80.0", "paper_mean": "83.10"},
            {"method": "CasGAN", "variant": "casgan", "mean": "70.0", "paper_mean": "91.90"},
            {"method": "GC", "variant": "gc", "mean": "", "paper_mean": "68.9"},
            {"method": "trivial: all foreground", "variant": "trivial_all_fg", "mean": "95.0", "trivial": "True"}]
    text = report._casgan(rows)
    assert "Best here: UNet" in text and "best CasGAN variant CasGAN (70.00" in text and "paper's best: CasGAN" in text
    assert "Floor: all foreground 95.00" in text
    assert "paper values only" in report._casgan([{"method": "x", "variant": "x", "mean": ""}])


def test_radiomics_sentence_counts_soft_wins():
    def row(dataset, roi, clf, acc):
        return {"dataset": dataset, "features": "paper", "roi": roi, "classifier": clf, "acc": str(acc)}

    rows = [row("a", "soft", "KNN", 0.8), row("a", "binary", "KNN", 0.7),
            row("a", "soft", "SVM", 0.6), row("a", "binary", "SVM", 0.7)]
    assert "in 1 of 2" in report._radiomics(rows)


def test_lgan_sentence_counts_critics_beating_the_unet():
    rows = [{"structure": s, "label": s, "data": "phantom", "iou_mean": str(v)}
            for s, v in (("unet", 0.9), ("basic", 0.95), ("product", 0.85), ("regression", 0.97))]
    text = report._lgan(rows)
    assert "best regression" in text and "2 of 3 critics beat the plain U-Net (0.900)" in text
