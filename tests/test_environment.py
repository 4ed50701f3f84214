"""pyproject.toml and environment.yml list the same dependencies."""

import re
import tomllib

from softnodule.config import REPO_ROOT

# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"pytorch": "torch"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower()


def test_pyproject_and_environment_yml_agree():
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pyproject = {_name(d) for d in deps}
    import yaml  # PyYAML comes with papermill

    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    env_names = {CONDA_TO_PYPI.get(_name(d), _name(d)) for d in conda + [p for p in pip if not p.startswith("-e")]}
    env_names -= {"python", "pip"}
    assert pyproject == env_names, f"only in pyproject: {pyproject - env_names}; only in environment.yml: {env_names - pyproject}"


def test_required_set_is_declared():
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(d) for d in deps["dependencies"]}
    required = {"torch", "numpy", "scipy", "opencv-python-headless", "pymatting", "pydicom", "pylidc", "matplotlib",
                "ipywidgets", "jupyterlab", "papermill", "nbval", "tqdm", "pytest", "scikit-learn"}
    assert required <= names
    assert "torchvision" not in names, "torchvision must stay optional (REFERENCE §7)"
    assert "torchvision" in deps["optional-dependencies"]["vision"]


def test_ci_runs_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
