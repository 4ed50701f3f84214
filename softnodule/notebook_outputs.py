"""Executed notebooks in the repository: publish a run's outputs into ``notebooks/`` and check them.

Readers open the numbered notebooks on GitHub or nbviewer without running anything, so the committed
notebooks carry the outputs of the committed quick run. Two rules keep outputs and results together:

* **one run**: `publish` copies ``executed/<profile>/NN_*.ipynb`` only when every notebook of that run
  was executed from one clean commit and ``results/<profile>/`` was written by that same commit (the
  runner stamps ``metadata.softnodule`` into each executed copy; every table's provenance JSON has
  ``commit``). `check` says when committed notebooks and ``results/`` come from different runs.
* **no machine paths**: outputs are rewritten with placeholders (``<repo>``, ``<cache>``,
  ``$SOFTNODULE_LIDC_CROPS``, ``~``) and any absolute path left over stops the publication.

Execution counts and papermill's per-cell durations are kept; papermill's input/output paths are not.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import REPO_ROOT, cache_dir, results_dir
from .io import atomic_write_text

__all__ = ["RUN_KEY", "NotebookOutputError", "OutputsCheck", "check", "machine_paths", "publish", "results_commits",
           "run_stamp", "scrub_text", "stamp_problem"]

#: The notebook metadata key the runner stamps: profile, image source, commit, dirty, executed_at.
RUN_KEY = "softnodule"

#: What an absolute machine path looks like in an output (POSIX home/work/temp folders, Windows drives).
_ABSOLUTE = re.compile(r"(?<![\w.<$~])(?:/(?:home|root|work|tmp|Users|mnt|scratch|opt|var|private)/[^\s'\",)\]]+"
                       r"|[A-Za-z]:\\[^\s'\",)\]]+)")


class NotebookOutputError(RuntimeError):
    """Executed notebooks that cannot be published (the message names each notebook and why)."""


def run_stamp(profile: str, image_source: str | None) -> dict[str, Any]:
    """The ``metadata.softnodule`` entry the runner writes into an executed notebook."""
    from datetime import datetime, timezone

    from .env import git_commit

    return {"profile": profile, "image_source": image_source, **git_commit(),
            "executed_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _replacements() -> list[tuple[str, str]]:
    """(machine path, placeholder) pairs, longest path first, so nested folders get the right name."""
    pairs = {str(REPO_ROOT): "<repo>", str(cache_dir()): "<cache>", str(Path.home()): "~"}
    for name, value in sorted(os.environ.items()):
        if name.startswith("SOFTNODULE_") and os.path.isabs(value):
            pairs.setdefault(value, f"${name}")
    out = [(p.rstrip("/"), v) for p, v in pairs.items() if p.rstrip("/")]
    return sorted(out, key=lambda pv: -len(pv[0]))


def scrub_text(text: str, replacements: list[tuple[str, str]] | None = None) -> str:
    """``text`` with this machine's repository, cache, data and home paths replaced by placeholders."""
    for path, placeholder in replacements if replacements is not None else _replacements():
        # whole path components only: /root must not turn /rootfs into ~fs
        text = re.sub(re.escape(path) + r"(?=[/\\\s'\",:)\]]|$)", lambda _, p=placeholder: p, text)
    return text


def machine_paths(text: str) -> list[str]:
    """Absolute paths left in ``text`` (what `scrub_text` had no placeholder for)."""
    return _ABSOLUTE.findall(text)


def _text_fields(output: dict[str, Any]):
    """(container, key) of every text field of one cell output that a reader sees."""
    if "text" in output:
        yield output, "text"
    if "traceback" in output:
        for i in range(len(output["traceback"])):
            yield output["traceback"], i
    for mime in output.get("data", {}):
        if mime.startswith("text/") or mime.endswith("+json") or mime == "application/json":
            yield output["data"], mime


def _scrub_output(output: dict[str, Any], replacements) -> list[str]:
    left = []
    for box, key in list(_text_fields(output)):
        value = box[key]
        if isinstance(value, list):
            box[key] = [scrub_text(v, replacements) for v in value]
            left += [p for v in box[key] for p in machine_paths(v)]
        elif isinstance(value, str):
            box[key] = scrub_text(value, replacements)
            left += machine_paths(box[key])
        else:  # a JSON output: scrub its serialised form
            box[key] = json.loads(scrub_text(json.dumps(value), replacements))
            left += machine_paths(json.dumps(box[key]))
    return left


def has_outputs(nb: dict[str, Any]) -> bool:
    """Whether any code cell of a notebook (as JSON) has an output."""
    return any(c.get("outputs") for c in nb.get("cells", []) if c.get("cell_type") == "code")


def results_commits(profile: str, folder: Path | None = None) -> dict[str, str | None]:
    """Table -> commit of every provenance JSON in ``results/<profile>/``."""
    folder = folder or results_dir(profile)
    return {p.name.removesuffix(".provenance.json"): json.loads(p.read_text()).get("commit")
            for p in sorted(folder.glob("*.provenance.json"))}


def _one_commit(profile: str, results: Path | None) -> str:
    commits = results_commits(profile, results)
    distinct = sorted({str(c) for c in commits.values()})
    if len(distinct) != 1 or distinct == ["None"]:
        by = {c: [t for t, v in commits.items() if str(v) == c] for c in distinct}
        raise NotebookOutputError(f"results/{profile}/ is not from one commit: "
                                  + "; ".join(f"{c[:10]}: {', '.join(ts[:4])}{' ...' if len(ts) > 4 else ''}"
                                              for c, ts in by.items())
                                  + f". Rerun `softnodule reproduce --profile {profile}` from one clean commit.")
    return distinct[0]


def stamp_problem(stamp: dict[str, Any] | None, profile: str, commit: str | None) -> str | None:
    """Why a notebook's run stamp is not the run of ``results/<profile>/`` at ``commit`` (None when it is)."""
    if not stamp:
        return f"not stamped by `softnodule reproduce` (metadata.{RUN_KEY} missing)"
    if stamp.get("profile") != profile:
        return f"executed with profile {stamp.get('profile')!r}, not {profile!r}"
    if stamp.get("commit") != commit or stamp.get("dirty"):
        return (f"executed at {str(stamp.get('commit'))[:10]}{' with uncommitted changes' if stamp.get('dirty') else ''}"
                f"; results/{profile}/ is from {str(commit)[:10]}")
    return None


def publish(profile: str = "quick", *, executed_dir: Path | None = None, notebook_dir: Path | None = None,
            results: Path | None = None, readme: Path | None = REPO_ROOT / "README.md") -> list[Path]:
    """Copy the executed notebooks of one run into ``notebook_dir``, scrubbed, after checking they are one run,
    and rewrite ``readme``'s claims table from the same ``results`` (None: leave the README alone).

    Raises `NotebookOutputError` naming every notebook that is missing, failed, unstamped, from another
    commit or dirty code, or left with a machine path; nothing is written then.
    """
    executed_dir = executed_dir or REPO_ROOT / "executed" / profile
    notebook_dir = notebook_dir or REPO_ROOT / "notebooks"
    commit = _one_commit(profile, results)
    replacements = _replacements()
    problems, ready = [], []
    for book in sorted(notebook_dir.glob("[0-9][0-9]_*.ipynb")):
        run = executed_dir / book.name
        if not run.exists():
            problems.append(f"{book.name}: not executed (no {run.name} in {executed_dir.name}/)")
            continue
        nb = json.loads(run.read_text())
        pm = nb.get("metadata", {}).get("papermill", {})
        why = "its execution failed" if pm.get("exception") else stamp_problem(nb["metadata"].get(RUN_KEY), profile,
                                                                               commit)
        if why:
            problems.append(f"{book.name}: {why}")
        else:
            left = [p for c in nb["cells"] for o in c.get("outputs", []) for p in _scrub_output(o, replacements)]
            if left:
                problems.append(f"{book.name}: machine paths left in its outputs: {', '.join(sorted(set(left))[:3])}")
            for key in ("input_path", "output_path"):
                pm.pop(key, None)
            ready.append((book, nb))
    if problems:
        raise NotebookOutputError("cannot publish the executed notebooks:\n  " + "\n  ".join(problems))
    for book, nb in ready:
        atomic_write_text(book, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    if readme is not None:
        from .experiments.engine.readme import update_readme

        update_readme(profile, readme, results)
    return [book for book, _ in ready]


@dataclass
class OutputsCheck:
    """What `check` found: notebooks with outputs, stripped ones, and every disagreement."""

    profile: str
    results_commit: str | None
    executed: list[str] = field(default_factory=list)
    stripped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(profile: str = "quick", *, notebook_dir: Path | None = None, results: Path | None = None) -> OutputsCheck:
    """Do the committed notebooks' outputs come from the run that wrote ``results/<profile>/``?

    Every notebook with outputs must carry the run stamp of ``profile`` with the commit of the results'
    provenance (which must be one commit), and no machine path. Stripped notebooks are listed, not failed:
    with none committed with outputs there is nothing to disagree.
    """
    notebook_dir = notebook_dir or REPO_ROOT / "notebooks"
    out = OutputsCheck(profile, None)
    books = {b.name: json.loads(b.read_text()) for b in sorted(notebook_dir.glob("[0-9][0-9]_*.ipynb"))}
    out.stripped = [name for name, nb in books.items() if not has_outputs(nb)]
    out.executed = [name for name, nb in books.items() if has_outputs(nb)]
    if not out.executed:
        return out  # nothing committed with outputs: nothing that could disagree with results/
    try:
        out.results_commit = _one_commit(profile, results)
    except NotebookOutputError as err:
        out.problems.append(str(err))
    for name in out.executed:
        nb = books[name]
        why = stamp_problem(nb.get("metadata", {}).get(RUN_KEY), profile, out.results_commit)
        if why:
            out.problems.append(f"{name}: outputs {why}")
        left = sorted({p for c in nb["cells"] for o in c.get("outputs", []) for _, p in _paths_in(o)})
        if left:
            out.problems.append(f"{name}: machine paths in its outputs: {', '.join(left[:3])}")
    return out


def _paths_in(output: dict[str, Any]):
    for box, key in _text_fields(output):
        value = box[key]
        text = "".join(value) if isinstance(value, list) else value if isinstance(value, str) else json.dumps(value)
        for p in machine_paths(text):
            yield key, p
