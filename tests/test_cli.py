"""The ``zoo`` command as people first meet it: help, version, start-up output, messages."""

from __future__ import annotations

import re
import subprocess
import sys

import zoo
from helpers import REPO


def zoo_command(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True,
                          text=True, cwd=REPO, **kwargs)


def test_version_and_help_at_every_level():
    version = zoo_command("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"zoo {zoo.__version__}"

    top = zoo_command("--help")
    assert top.returncode == 0
    assert all(command in top.stdout for command in ("list", "train", "predict", "serve"))

    for flag in ("--help", "-h"):
        result = zoo_command("train", flag)
        assert result.returncode == 0, result.stderr
        assert "MODEL" in result.stdout and all(name in result.stdout
                                                for name in zoo.list_models())

    bare = zoo_command("train")
    assert bare.returncode == 2 and "name a MODEL: chatbot" in bare.stderr


def test_recipe_help_describes_every_flag_and_its_allowed_values():
    result = zoo_command("train", "stacked_lstm", "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "--lr-schedule {plateau,cosine}" in text
    assert "--precision {float32,mixed_bfloat16,mixed_float16,auto}" in text
    assert "--cell {simple_rnn,lstm,gru}" in text
    options = text.split("options:", 1)[1]
    # Each flag's entry: the flag line, then its description, on the same line or the next.
    entries = re.split(r"\n  (?=-)", options)[1:]
    assert len(entries) > 25
    for entry in entries:  # "--flag METAVAR", then two spaces or a new line, then words
        assert re.search(r"(\S {2,}|\n\s+)\w", entry.strip()), entry
    assert "(default: 384)" in text  # the recipe's own default for --units


def test_start_up_prints_no_tensorflow_log_lines(tmp_path):
    result = zoo_command("predict", str(tmp_path / "missing"), "hi")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"zoo predict: error: {tmp_path / 'missing'} does not exist"]


def test_a_directory_as_train_file_is_a_one_line_error(tmp_path):
    result = zoo_command("train", "sentiment_lstm", "--train-file", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"zoo train: error: train_file='{tmp_path}' is a directory; expected a file"]


def test_an_export_version_in_use_fails_before_training(tmp_path):
    (tmp_path / "exports" / "topic_gru" / "1").mkdir(parents=True)
    result = zoo_command("train", "topic_gru", "--export-dir", str(tmp_path / "exports"),
                         "--version", "1", "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2 and "version=1 already exists" in result.stderr
    assert not (tmp_path / "run").exists()


def test_the_readme_shows_the_help_as_it_prints():
    import os

    readme = (REPO / "README.md").read_text()
    env = {**os.environ, "COLUMNS": "100"}
    for args in (["--help"], ["train", "--help"], ["train", "sentiment_lstm", "--help"]):
        printed = zoo_command(*args, env=env).stdout.rstrip()
        assert printed and printed in readme, f"README's `zoo {' '.join(args)}` is out of date"


def test_the_readme_layout_matches_the_tree():
    """Every module and folder of zoo/ (and each top-level folder) has its line, and no line
    names something that is not there."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    listed = {line.split()[0] for line in block.splitlines() if line.strip()}
    package = REPO / "zoo"
    present = {f"zoo/{p.name}" for p in package.glob("*.py")}
    present |= {f"zoo/{p.name}/" for p in package.iterdir()
                if p.is_dir() and (p / "__init__.py").exists() and p.name != "tasks"}
    tasks = package / "tasks"
    present |= {f"zoo/tasks/{p.name}" for p in tasks.glob("*.py") if p.name != "__init__.py"}
    present |= {f"zoo/tasks/{p.name}/" for p in tasks.iterdir() if (p / "__init__.py").exists()}
    present |= {"recipes/", "tests/", "benchmarks/", "data/", "saved_models/"}
    assert listed == present, (sorted(listed - present), sorted(present - listed))
    for folder in [p for p in tasks.iterdir() if (p / "__init__.py").exists()]:
        line = next(line for line in block.splitlines()
                    if line.startswith(f"zoo/tasks/{folder.name}/"))
        modules = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"}
        assert all(re.search(rf"\b{m}\b", line) for m in modules), (folder.name, modules, line)
