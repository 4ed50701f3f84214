"""Executed notebooks for readers: the runner's stamp, `publish` (one run, no machine paths) and `check`."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from softnodule import notebook_outputs as outputs
from softnodule.config import REPO_ROOT, cache_dir


def _notebook(path: Path, outputs_text: str | None = None, stamp: dict | None = None) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('table')", execution_count=1 if outputs_text else None)
    if outputs_text is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=outputs_text)]
    nb.cells = [nbformat.v4.new_markdown_cell("# a table"), cell]
    if stamp is not None:
        nb.metadata[outputs.RUN_KEY] = stamp
        nb.metadata["papermill"] = {"input_path": str(path), "output_path": str(path), "exception": None}
    nbformat.write(nb, path)


@pytest.fixture()
def run(tmp_path):
    """Stripped notebooks/, their executed copies from commit abc, and results/ written by abc."""
    books, executed, results = (tmp_path / d for d in ("notebooks", "executed", "results"))
    for d in (books, executed, results):
        d.mkdir()
    stamp = {"profile": "quick", "image_source": "lidc-crops", "commit": "abc", "dirty": False}
    text = f"wrote {REPO_ROOT}/results/quick/t.csv from {cache_dir()}/runs/k/model.pt\n"
    for name in ("00_env.ipynb", "01_table.ipynb"):
        _notebook(books / name)
        _notebook(executed / name, text, stamp)
    for table in ("t1", "t2"):
        (results / f"{table}.provenance.json").write_text(json.dumps({"commit": "abc", "dirty": False}))
    return books, executed, results


def _publish(run):
    books, executed, results = run
    return outputs.publish("quick", executed_dir=executed, notebook_dir=books, results=results, readme=None)


def test_publish_copies_one_runs_outputs_without_machine_paths(run):
    books = run[0]
    assert [p.name for p in _publish(run)] == ["00_env.ipynb", "01_table.ipynb"]
    nb = json.loads((books / "01_table.ipynb").read_text())
    text = "".join(nb["cells"][1]["outputs"][0]["text"])
    assert text == "wrote <repo>/results/quick/t.csv from <cache>/runs/k/model.pt\n"
    assert nb["cells"][1]["execution_count"] == 1
    assert "input_path" not in nb["metadata"]["papermill"]
    found = outputs.check("quick", notebook_dir=books, results=run[2])
    assert found.ok and found.executed == ["00_env.ipynb", "01_table.ipynb"] and found.results_commit == "abc"


@pytest.mark.parametrize("stamp, why", [
    ({"profile": "quick", "commit": "def", "dirty": False}, "executed at def; results/quick/ is from abc"),
    ({"profile": "quick", "commit": "abc", "dirty": True}, "with uncommitted changes"),
    ({"profile": "smoke", "commit": "abc", "dirty": False}, "profile 'smoke'"),
    (None, "not stamped by `softnodule reproduce`"),
])
def test_publish_refuses_a_notebook_from_another_run_and_writes_nothing(run, stamp, why):
    books, executed, _ = run
    _notebook(executed / "01_table.ipynb", "x\n", stamp)
    with pytest.raises(outputs.NotebookOutputError, match=rf"01_table.ipynb: .*{why[:20]}"):
        _publish(run)
    assert not outputs.has_outputs(json.loads((books / "00_env.ipynb").read_text()))


def test_publish_refuses_results_from_two_commits(run):
    (run[2] / "t2.provenance.json").write_text(json.dumps({"commit": "zzz"}))
    with pytest.raises(outputs.NotebookOutputError, match="not from one commit: abc: t1; zzz: t2"):
        _publish(run)


def test_publish_refuses_a_machine_path_it_has_no_placeholder_for(run):
    _notebook(run[1] / "00_env.ipynb", "saved /tmp/pytest-of-someone/x.png\n",
              {"profile": "quick", "commit": "abc", "dirty": False})
    with pytest.raises(outputs.NotebookOutputError, match="00_env.ipynb: machine paths left.*/tmp/pytest-of-someone"):
        _publish(run)


def test_check_fails_when_results_move_to_another_run(run):
    books, _, results = run
    _publish(run)
    for p in results.glob("*.provenance.json"):
        p.write_text(json.dumps({"commit": "new"}))
    found = outputs.check("quick", notebook_dir=books, results=results)
    assert not found.ok
    assert found.problems == [f"{n}: outputs executed at abc; results/quick/ is from new"
                              for n in ("00_env.ipynb", "01_table.ipynb")]


def test_scrub_replaces_whole_path_components_only(monkeypatch):
    monkeypatch.setenv("SOFTNODULE_LIDC_CROPS", "/data/lidc/crops.tar.gz")
    text = outputs.scrub_text(f"{REPO_ROOT}/x {REPO_ROOT}x /data/lidc/crops.tar.gz")
    assert text == f"<repo>/x {REPO_ROOT}x $SOFTNODULE_LIDC_CROPS"


def test_the_committed_notebooks_outputs_come_from_the_committed_results():
    """The repository's own notebooks: any committed with outputs come from the run in results/quick/."""
    found = outputs.check("quick")
    assert found.ok, "\n".join(found.problems)
    assert len(found.executed) + len(found.stripped) == len(list((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))


def test_reproduce_stamps_each_executed_notebook_with_its_run(tmp_path, monkeypatch):
    from softnodule.env import git_commit
    from softnodule.runner import reproduce

    monkeypatch.setenv("SOFTNODULE_SOURCE", "phantom")
    monkeypatch.setenv("SOFTNODULE_PROFILE", "smoke")  # reproduce sets both; restored after the test
    books = tmp_path / "nb"
    books.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('profile = "quick"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(profile)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, books / "00_tiny.ipynb")
    reproduce("smoke", notebook_dir=books, out_dir=tmp_path / "out", executor=None, only=["00"])
    stamp = json.loads((tmp_path / "out" / "00_tiny.ipynb").read_text())["metadata"][outputs.RUN_KEY]
    assert stamp["profile"] == "smoke" and stamp["image_source"] == "phantom"
    assert stamp["commit"] == git_commit()["commit"] and "executed_at" in stamp
