"""The README's commands work as written, and a non-editable install runs.

The "Use" block is read from README.md and run line by line in a fresh folder holding the
files it names, in the project's environment as the README activates it (its bin folder
first on PATH, VIRTUAL_ENV set). `fazhi serve` runs until /healthz answers, on a free port
instead of 8000 (the only change to any line). Then the package is built as a wheel,
installed without `-e` into a folder of its own, and scores a report from another folder.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fazhi.paths import PROJ_ROOT, REPORTS_DIR
from service.server import free_port
from test_readers import PARAGRAPHS, REPORT, make_docx, make_html, make_pdf

README = PROJ_ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent


def readme_block(heading: str) -> list[str]:
    """The command lines of the first bash block under a README heading, comments removed."""
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def activated_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAZHI_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder with the files the README's commands name."""
    root = tmp_path_factory.mktemp("readme")
    (root / "sentences.txt").write_text("\n".join(PARAGRAPHS[5:25]) + "\n", encoding="utf-8")
    (root / "report.docx").write_bytes(make_docx(PARAGRAPHS))
    (root / "report.pdf").write_bytes(make_pdf(PARAGRAPHS))
    (root / "report.html").write_text(make_html(PARAGRAPHS), encoding="utf-8")
    for year, district, seed in (("2017", "大渡口区", "000"), ("2020", "巴南区", "001")):
        (root / "reports" / year).mkdir(parents=True, exist_ok=True)
        (source,) = REPORTS_DIR.glob(f"{seed}_*.txt")
        shutil.copy(source, root / "reports" / year / f"{district}.txt")
    return root


def test_the_readme_activates_the_environment_before_its_commands():
    assert readme_block("Use")[0] == ". .venv/bin/activate"


@pytest.mark.parametrize("line", [line for line in readme_block("Use")[1:] if " serve" not in line])
def test_use_command_runs_as_written(workdir, line):
    done = subprocess.run(["bash", "-c", line], cwd=workdir, env=activated_env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() or list((workdir / "ranking").iterdir())
    if "--json" in line:
        assert json.loads(done.stdout)["score"] is not None
    if "batch" in line:
        assert {"scores.csv", "scores.xlsx", "index.html"} <= {p.name for p in (workdir / "ranking").iterdir()}


def test_serve_command_answers(workdir):
    (line,) = [line for line in readme_block("Use") if " serve" in line]
    port = free_port()
    command = line.replace("--port 8000", f"--port {port}")
    assert command != line, "the README's serve line names port 8000"
    env = {**activated_env(), "FAZHI_DB": str(workdir / "fazhi.db")}
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=workdir, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert json.loads(response.read())["status"] == "ok"
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "fazhi serve did not start"
                time.sleep(0.3)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_non_editable_install_runs_from_anywhere(tmp_path):
    """`pip install .` (a wheel, no -e): the package carries its taxonomy and model."""
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "wheel"),
                            str(PROJ_ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "wheel").glob("fazhi-*.whl")
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    shutil.rmtree(PROJ_ROOT / "build", ignore_errors=True)
    report = tmp_path / "report.txt"
    report.write_text(REPORT, encoding="utf-8")
    # The installed copy first on the path, and the checkout's editable hook left out.
    script = (f"import sys; sys.path.insert(0, {str(target)!r}); "
              "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
              "import fazhi, fazhi.paths; assert fazhi.__file__.startswith(sys.path[0]), fazhi.__file__; "
              "assert not fazhi.paths.SOURCE_CHECKOUT; "
              "from fazhi.cli import main; sys.exit(main(['score', sys.argv[1], '--json']))")
    run = subprocess.run([sys.executable, "-c", script, str(report)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env=activated_env())
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout)["score"] is not None
    assert not list(target.rglob("fazhi.db"))


def test_reviewing_commands_run_as_written(tmp_path):
    """The block under "Reviewing and correcting": add a reviewer (the password typed twice),
    make a token, and export a decision as labels into a copy of data/."""
    from fazhi.model import get_classifier
    from fazhi.paths import DOCUMENTS_FILE, LABELS_DIR
    from fazhi.scoring import score_report
    from fazhi.storage import ReportStore, content_hash

    lines = readme_block("Reviewing and correcting")
    assert [line.split()[:3] for line in lines] == [["fazhi", "users", "add"], ["fazhi", "users", "token"],
                                                     ["fazhi", "labels", "export"]]
    shutil.copytree(LABELS_DIR, tmp_path / "data" / "labels", ignore=shutil.ignore_patterns("*/"))
    shutil.copy(DOCUMENTS_FILE, tmp_path / "data" / "documents.yaml")
    text = "\n".join(f"{n}月，县市场监管局开展食品安全专项检查{n + 2}次，立案查处{n}件。" for n in range(1, 13))
    store = ReportStore(tmp_path / "fazhi.db")
    report_id = store.add(score_report(get_classifier(), text), content_hash=content_hash(text), title="t",
                          filename=None, source="test")

    def run(line: str, typed: str = "") -> subprocess.CompletedProcess:
        # A session of its own: no terminal, so the password prompt reads what is typed on stdin.
        # FAZHI_DB: the database the README's commands use from the repository root (fazhi.db there).
        env = {**activated_env(), "FAZHI_DB": str(tmp_path / "fazhi.db")}
        return subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, input=typed,
                              capture_output=True, text=True, timeout=300, start_new_session=True)

    added = run(lines[0], "a long enough password\n" * 2)
    assert added.returncode == 0, added.stderr
    name = lines[0].split()[3]
    assert store.check_password(name, "a long enough password")
    token = run(lines[1])
    assert token.returncode == 0 and store.reviewer_of_token(token.stdout.strip()) == name
    units = store.get(report_id)["result"]["sentences"]
    body = next(i for i, u in enumerate(units) if u["kind"] == "body")
    store.add_decision(report_id, body, new_area="enforcement", new_category="concrete", reviewer=name)
    exported = run(lines[2])
    assert exported.returncode == 0, exported.stderr
    assert len(list((tmp_path / "data" / "labels").glob("review-*.jsonl"))) == 1
