"""Plan -> train -> notebooks: `reproduce` trains the plan first, in rounds until blocked jobs are resolved."""

from __future__ import annotations

from pathlib import Path

from softnodule.config import PROFILES
from softnodule.runner import _train_first
from softnodule.runs.plan import plan


def test_reproduce_trains_the_plan_first_and_a_second_round_resolves_the_best_baseline(run_cache):
    books = [Path("11_table2_lidc.ipynb"), Path("01_data.ipynb")]  # 01 trains nothing: not planned
    lines: list[str] = []
    out = _train_first("smoke", "phantom", books, executor="local", scheduler=None, workers=None, threads=1,
                       echo=lines.append)
    assert out["notebooks"] == ["11"] and out["failed"] == 0
    assert out["rounds"] == 2 and out["blocked"] == 0  # round 2: the best baseline's extra seed, chosen on val
    jobs = plan(PROFILES["smoke"], "phantom", notebooks=["11"])
    assert all(j.status == "done" for j in jobs) and out["trained"] == len(jobs)
    assert any("1 blocked" in line for line in lines)
    again = _train_first("smoke", "phantom", books, executor="local", scheduler=None, workers=None, threads=1,
                         echo=lines.append)
    assert again["trained"] == 0 and again["rounds"] == 0 and again["cached"] == len(jobs)
