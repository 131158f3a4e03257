"""Every snippet in README.md runs: the ```python blocks in order in one namespace, and every command
of the ```bash blocks, in a scratch folder (so the README cannot rot).

Not run here, because the test run itself is them or they take minutes: the set-up and test commands
(`bash .ci/...`, `pip install ...`) and the benchmark (`python3 benchmarks/...`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
NOT_RUN = ("bash .ci/", "pip install", "python3 benchmarks/", "git clone", "cd ")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def commands() -> list[str]:
    out = []
    for block in blocks("bash"):
        for line in block.splitlines():
            cmd = line.split("  #")[0].strip()
            if cmd and not cmd.startswith("#") and not cmd.startswith(NOT_RUN):
                out.append(cmd)
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("readme")
    old = os.getcwd()
    os.chdir(d)
    yield d
    os.chdir(old)


def test_python_snippets_run(workdir):
    code = blocks("python")
    assert len(code) >= 3
    ns: dict = {"__name__": "__readme__"}
    for n, block in enumerate(code):
        try:
            exec(compile(block, f"README.md python block {n + 1}", "exec"), ns)
        except Exception as exc:  # show which block broke
            raise AssertionError(f"README python block {n + 1} failed: {exc!r}\n{block}") from exc


def test_shell_commands_run(workdir):
    cmds = commands()
    assert cmds, "README has no commands"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    for cmd in cmds:
        if cmd.startswith("petct "):
            cmd = f"{sys.executable} -m petct " + cmd[len("petct ") :]
        r = subprocess.run(cmd, shell=True, cwd=workdir, capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, f"README command failed: {cmd}\n{r.stdout}\n{r.stderr}"
