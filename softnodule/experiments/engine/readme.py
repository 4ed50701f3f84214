"""The README's opening claims table, written from ``results/<profile>/`` (never by hand).

`claims_block` is what the README shows between `BEGIN` and `END`: where the numbers come from (one run's
commit and image sources, or a plain warning that the folder is not one run yet), the count per verdict,
and each claim with the paper's effect, ours with its 95 % CI and the verdict. `update_readme` rewrites
that block (``softnodule notebooks publish`` calls it); a test fails when the README and ``results/``
disagree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ...config import REPO_ROOT, results_dir
from ...io import atomic_write_text
from ...reporting import markdown_table
from .report import VERDICT_RULE, claim_display_rows

__all__ = ["BEGIN", "END", "claims_block", "readme_block", "update_readme"]

BEGIN = "<!-- claims: written by `softnodule notebooks publish` from results/quick/; do not edit by hand -->"
END = "<!-- /claims -->"
#: The columns a README reader needs; REPORT.md has the rest (seeds, n, notes).
COLUMNS = ("claim", "where", "paper (A − B)", "ours (A − B) [95 % CI]", "verdict", "image source")


def _provenance(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.provenance.json"))]


def claims_block(profile: str = "quick", folder: Path | None = None) -> str:
    """The README's claims block for ``results/<profile>/`` (markdown, without the markers)."""
    folder = folder or results_dir(profile)
    provs = _provenance(folder)
    commits = sorted({str(p.get("commit"))[:10] for p in provs})
    sources = sorted({str(p.get("image_source")) for p in provs if p.get("image_source")})
    where = f"`results/{profile}/` ({len(provs)} tables; image sources: {', '.join(sources) or 'not recorded'})"
    if len(commits) == 1 and commits != ["None"]:
        origin = f"From one `{profile}` run, code commit `{commits[0]}`: {where}."
    else:
        origin = (f"**Not one run yet:** {where} holds tables written by {len(commits)} code commits (earlier, shorter "
                  f"runs). The `{profile}` run that replaces them, every table on real CT (`lidc-crops`) trained to "
                  "its validation plateau with 3 seeds per claim row, is in progress; until it lands no claim below "
                  "is evidence.")
    shown, counts = claim_display_rows(folder)
    lines = [origin, ""]
    if shown:
        lines += [f"**{len(shown)} claims: {counts['supported']} supported, {counts['contradicted']} contradicted, "
                  f"{counts['inconclusive']} inconclusive.** {VERDICT_RULE}", "",
                  markdown_table([{k: r[k] for k in COLUMNS} for r in shown])]
    else:
        lines += ["No claims table in this folder yet: the table notebooks write `*_claims.csv` when they run."]
    figure = f"figures/{profile}/99_claims.png"
    if shown and (REPO_ROOT / figure).exists():
        lines += ["", f"![Every claim: our paired difference with its 95 % CI beside the paper's effect]({figure})"]
    lines += ["", f"Every table with the paper's numbers beside ours: [`results/{profile}/REPORT.md`]"
                  f"(results/{profile}/REPORT.md)."]
    return "\n".join(lines)


def readme_block(text: str) -> str | None:
    """The claims block inside a README's text (None when the markers are missing)."""
    m = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, flags=re.DOTALL)
    return m.group(1) if m else None


def update_readme(profile: str = "quick", readme: Path | None = None, folder: Path | None = None) -> bool:
    """Rewrite the README's claims block from ``results/<profile>/``; whether the file changed."""
    readme = readme or REPO_ROOT / "README.md"
    text = readme.read_text()
    if readme_block(text) is None:
        raise ValueError(f"{readme.name} has no claims block: add the lines {BEGIN!r} and {END!r}")
    new = re.sub(re.escape(BEGIN) + r"\n.*?\n" + re.escape(END),
                 lambda _: f"{BEGIN}\n{claims_block(profile, folder)}\n{END}", text, flags=re.DOTALL)
    if new != text:
        atomic_write_text(readme, new)
    return new != text
