"""What a worker loads: everything it runs, and never the emulator.

The emulator ships with the package as a documented tool (``python -m airflow_provider_spapi.emulator``,
``spapi-emulator``), with its copy of Amazon's models as package data. A worker parsing DAGs or
running tasks must not pay for it: nothing it imports (the core, ``spapi/``, hooks, operators,
sensors, triggers, provider info, the example DAGs) may import ``airflow_provider_spapi.emulator``.
Each check runs in a fresh interpreter, so what this test session imported does not count.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "airflow_provider_spapi"

IMPORT_EVERYTHING_A_WORKER_RUNS = """
import importlib, json, pathlib, sys
import airflow_provider_spapi
# Module names from the files: pkgutil.walk_packages would import every subpackage, the emulator too.
root = pathlib.Path(airflow_provider_spapi.__file__).parent
names = []
for path in sorted(root.rglob("*.py")):
    parts = ("airflow_provider_spapi", *path.relative_to(root).with_suffix("").parts)
    if parts[1] == "emulator":
        continue
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    importlib.import_module(name)
    names.append(name)
airflow_provider_spapi.get_provider_info()
print(json.dumps({"imported": names, "emulator": sorted(m for m in sys.modules if m.startswith("airflow_provider_spapi.emulator"))}))
"""

PARSE_THE_EXAMPLE_DAGS = """
import json, sys
try:
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(sys.argv[1])
except ImportError:
    from airflow.models import DagBag
    bag = DagBag(sys.argv[1], include_examples=False)
print(json.dumps({
    "dags": sorted(bag.dag_ids),
    "errors": {str(k): str(v)[:300] for k, v in bag.import_errors.items()},
    "emulator": sorted(m for m in sys.modules if m.startswith("airflow_provider_spapi.emulator")),
}))
"""


def run_fresh(script: str, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False, cwd=REPO, env=os.environ.copy(), timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.airflow
def test_importing_every_hook_operator_sensor_and_trigger_leaves_the_emulator_unloaded() -> None:
    loaded = run_fresh(IMPORT_EVERYTHING_A_WORKER_RUNS)
    imported = set(loaded["imported"])  # type: ignore[arg-type]
    for package in ("hooks", "operators", "sensors", "triggers", "core", "spapi"):
        assert any(name.startswith(f"airflow_provider_spapi.{package}.") for name in imported), package
    assert "airflow_provider_spapi.provider_info" in imported
    assert loaded["emulator"] == []


@pytest.mark.airflow
def test_parsing_the_example_dags_leaves_the_emulator_unloaded() -> None:
    parsed = run_fresh(PARSE_THE_EXAMPLE_DAGS, str(REPO / "example_dags"))
    assert parsed["errors"] == {}
    assert len(parsed["dags"]) == len(list((REPO / "example_dags").glob("*.py")))  # type: ignore[arg-type]
    assert parsed["emulator"] == []


def test_the_emulator_and_its_data_ship_as_a_documented_tool() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'spapi-emulator = "airflow_provider_spapi.emulator.__main__:main"' in pyproject
    line = next(text for text in pyproject.splitlines() if text.startswith("airflow_provider_spapi = ["))
    globs = json.loads(line.split("=", 1)[1])
    data = [path.relative_to(PACKAGE).as_posix() for path in (PACKAGE / "emulator").glob("*.json*")]
    assert sorted(data) == ["emulator/facts.json", "emulator/models.json.gz"]
    unshipped = [name for name in data if not any(fnmatch.fnmatch(name, pattern) for pattern in globs)]
    assert unshipped == []
