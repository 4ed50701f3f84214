"""The README's claims table is written from results/quick/ and cannot drift from it."""

from __future__ import annotations

import csv
import json

import pytest

from softnodule.config import REPO_ROOT
from softnodule.experiments.engine.readme import BEGIN, END, claims_block, readme_block, update_readme

CLAIM = {"claim": "DSNet > U-Net", "source": "lidc-crops Table I", "diff": 1.25, "ci_low": 0.4, "ci_high": 2.1,
         "paper_diff": 1.7, "n_seeds_a": 3, "n_seeds_b": 3, "n": 400, "verdict": "supported",
         "image_source": "lidc-crops", "note": ""}


def _results(folder, commits=("abc1234567",), claims=True):
    folder.mkdir(exist_ok=True)
    for i, commit in enumerate(commits):
        (folder / f"t{i}.provenance.json").write_text(json.dumps({"commit": commit, "image_source": "lidc-crops"}))
    if claims:
        with open(folder / "dsnet_table1_claims.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(CLAIM))
            w.writeheader()
            w.writerow(CLAIM)
    return folder


def test_the_readme_shows_the_claims_of_the_committed_results():
    assert readme_block((REPO_ROOT / "README.md").read_text()) == claims_block("quick"), (
        "README.md's claims table differs from results/quick/: run `softnodule notebooks publish`")


def test_one_runs_claims_give_the_commit_the_counts_and_each_verdict(tmp_path):
    block = claims_block("quick", _results(tmp_path / "r"))
    assert "From one `quick` run, code commit `abc1234567`" in block
    assert "**1 claims: 1 supported, 0 contradicted, 0 inconclusive.**" in block
    assert "| DSNet > U-Net | lidc-crops Table I | +1.70 | +1.25 [+0.40, +2.10] | supported | lidc-crops |" in block


def test_results_from_several_commits_are_labelled_not_one_run(tmp_path):
    block = claims_block("quick", _results(tmp_path / "r", commits=("aaa", "bbb"), claims=False))
    assert block.startswith("**Not one run yet:**") and "2 code commits" in block
    assert "No claims table in this folder yet" in block


def test_update_rewrites_only_the_block_and_needs_the_markers(tmp_path):
    folder = _results(tmp_path / "r")
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{BEGIN}\nold\n{END}\n\n## rest\n")
    assert update_readme("quick", readme, folder) is True
    text = readme.read_text()
    assert text.startswith("# title\n\n") and text.endswith(f"{END}\n\n## rest\n")
    assert readme_block(text) == claims_block("quick", folder)
    assert update_readme("quick", readme, folder) is False
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="has no claims block"):
        update_readme("quick", readme, folder)


def test_the_claims_figure_draws_one_row_per_claim(tmp_path):
    import matplotlib.pyplot as plt

    from softnodule.experiments.engine.report import claims_figure

    assert claims_figure(tmp_path) is None
    fig = claims_figure(_results(tmp_path / "r"))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["DSNet > U-Net · lidc-crops Table I"]
    plt.close(fig)
