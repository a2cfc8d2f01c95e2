"""A non-editable install (the wheel) carries the templates and scenarios and renders the same bytes."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_wheel_ships_resources_and_renders_like_the_checkout(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path / "wheel"),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    wheel = next((tmp_path / "wheel").glob("vod_emitter-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "emitter/_data/templates/catalog.yaml",
        "emitter/_data/templates/v2/fields.yaml",
        "emitter/_data/templates/v2/ConcatComplete.json.j2",
        "emitter/_data/scenarios/happy-path.yaml",
        "emitter/py.typed",
    ):
        assert name in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        timeout=300,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOD_EMITTER_")}
    env["PYTHONPATH"] = str(site)
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "from emitter.payloads.catalog import resource_dir; print(resource_dir('templates'))",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site)
    args = ["-m", "emitter", "render", "happy-path", "--seed", "5", "--now", "2024-05-01T12:00:00Z"]
    packaged = subprocess.run([sys.executable, *args], capture_output=True, env=env, cwd=tmp_path, timeout=60)
    checkout = subprocess.run([sys.executable, *args], capture_output=True, cwd=ROOT, timeout=60)
    assert packaged.returncode == 0, packaged.stderr
    assert packaged.stdout == checkout.stdout and packaged.stdout.count(b"\n") == 4
