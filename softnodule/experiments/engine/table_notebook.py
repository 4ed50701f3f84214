"""One helper per table notebook: its profile, data and SR teacher, then one call per table column.

``nb = table_notebook(profile, source)`` replaces the set-up cell every table notebook repeated
(profile banner, image source, datasets, SR teacher, run clock). ``nb.run(table, "lnsm")`` then trains
(or loads) every row of one column of a paper table, evaluates each run on the test split once, adds
the trivial floor rows, scores the paper's claims with paired intervals and verdicts, and writes
``results/<profile>/<table.CSV>_<column>.csv`` and ``..._claims.csv`` with their provenance.

A *table* is a module (e.g. `softnodule.experiments.dsnet.table3_ablation`) with:

* ``CSV``: the results name prefix; ``VARIANT_NAMES``: its rows in order;
* ``claim_variants(column)``: the rows a claim rests on (they train ``profile.claim_seeds``);
* ``claims(column, runs)``: its `claims.Claim` list (``runs`` lets a claim name a row chosen on
  validation, such as Table I's best baseline);
* ``table_rows(runs, evaluations, column, image_source)``: its numeric rows;
* optionally ``extra_claim_variants(runs)``: rows that become claim rows after the first training
  pass (chosen on VALIDATION numbers only), trained then with the claim seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ...config import Profile, get_profile
from ...reporting import RunClock, write_table
from .claims import claim_rows
from .notebook_data import NotebookData, notebook_data
from .table_runs import evaluate_variants, table_provenance, train_variants
from .trivial import trivial_evaluations, trivial_rows

COLUMNS = {"lnsm": "LNSM-style set", "lidc": "LIDC-style set"}


@dataclass
class TableResult:
    """One column of one table: runs, test evaluations, numeric rows (trivial rows last) and claims."""

    column: str
    runs: dict[str, list]
    evaluations: dict[str, list]
    rows: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    paths: dict[str, Any] = field(default_factory=dict)


@dataclass
class TableNotebook:
    """A table notebook's profile, data (`NotebookData`), SR teacher and clock."""

    profile: Profile
    data: NotebookData
    teacher: Any
    clock: RunClock
    progress: bool = True

    @property
    def source(self) -> str:
        return self.data.source

    def dataset(self, column: str):
        """The dataset of a table column: ``"lnsm"`` or ``"lidc"``."""
        if column not in COLUMNS:
            raise ValueError(f"unknown table column {column!r}; choose one of {', '.join(COLUMNS)}")
        return getattr(self.data, column)

    def run(self, table: ModuleType, column: str = "lnsm", *, write: bool = True) -> TableResult:
        """Train/load, evaluate once on test, tabulate, score the claims, write the CSVs."""
        ds = self.dataset(column)
        p, teacher = self.profile, self.teacher
        runs = train_variants(table.VARIANT_NAMES, p, ds, teacher, claim=table.claim_variants(column),
                              progress=self.progress)
        extra = getattr(table, "extra_claim_variants", None)
        if extra is not None:
            chosen = extra(runs)
            runs |= train_variants(chosen, p, ds, teacher, claim=chosen, progress=self.progress)
        evaluations = evaluate_variants(runs, ds)
        rows = table.table_rows(runs, evaluations, column=column, image_source=self.source)
        test = ds.subset("test")
        floor = trivial_evaluations(test["binary"], test.get("recist"))
        rows += trivial_rows(floor, image_source=self.source)
        claims = claim_rows(table.claims(column, runs), evaluations, runs=runs, image_source=self.source,
                            dataset=f"{column}: {ds.manifest['spec']['name']}")
        result = TableResult(column, runs, evaluations, rows, claims)
        if write:
            prov = table_provenance(p, runs, ds, teacher, clock=self.clock, notes=getattr(table, "NOTES", ""),
                                    extra={"column": column})
            name = f"{table.CSV}_{column}"
            result.paths["table"] = write_table(rows, name, p.name, prov)
            if claims:
                result.paths["claims"] = write_table(claims, f"{name}_claims", p.name, prov)
        return result


def table_notebook(profile: str | Profile, source: str | None = "auto", *, teacher: bool = True,
                   progress: bool = True) -> TableNotebook:
    """Resolve profile and image source (banner printed), and load or train the SR teacher."""
    p = profile if isinstance(profile, Profile) else get_profile(profile)
    if p.name == "smoke":
        print("SMOKE PROFILE: tiny data, 1 epoch, 4-channel nets; every number below is meaningless.")
    data = notebook_data(p, source, progress=progress)
    sr = None
    if teacher:
        from ..dsnet.sr_pretraining import run_sr_pretraining

        sr, _, _ = run_sr_pretraining(p, [data.lnsm, data.lidc], data.index, seed=0)
    return TableNotebook(p, data, sr, RunClock(), progress)
