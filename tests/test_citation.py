"""CITATION.cff names every paper reproduced and every data source used, in valid CFF 1.2.0 shape."""

from __future__ import annotations

from pathlib import Path

import yaml

CFF = Path(__file__).resolve().parents[1] / "CITATION.cff"


def test_citation_file_names_the_papers_and_the_data():
    cff = yaml.safe_load(CFF.read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["authors"]
    refs = cff["references"]
    assert all(r.get("title") and r.get("authors") and r.get("type") for r in refs)
    text = " ".join(f"{r['title']} {r.get('notes', '')}" for r in refs)
    for name in ("DSNet", "SoftGAN", "CasGAN", "LGAN", "LIDC-IDRI", "LIDC_GDRO", "pylidc", "DeepLesion", "ISBI 2012",
                 "PROMISE12"):
        assert name in text, f"CITATION.cff does not name {name}"
    lidc = next(r for r in refs if r["type"] == "data" and "LIDC-IDRI" in r["title"])
    assert lidc["doi"] == "10.7937/K9/TCIA.2015.LO9QL9SX" and lidc["license"] == "CC-BY-3.0"
