"""The ``zoo`` command as people first meet it: help, version, start-up output, messages."""

from __future__ import annotations

import re
import subprocess
import sys

import zoo

from helpers import REPO


def zoo_command(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "zoo.cli", *args], capture_output=True, text=True, cwd=REPO, **kwargs
    )


def test_version_and_help_at_every_level():
    version = zoo_command("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"zoo {zoo.__version__}"

    top = zoo_command("--help")
    assert top.returncode == 0
    assert all(command in top.stdout for command in ("list", "train", "predict", "serve"))

    for flag in ("--help", "-h"):
        result = zoo_command("train", flag)
        assert result.returncode == 0, result.stderr
        assert "MODEL" in result.stdout and all(name in result.stdout for name in zoo.list_models())

    bare = zoo_command("train")
    assert bare.returncode == 2 and "name a MODEL: bilstm_tagger, chatbot" in bare.stderr


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
    assert result.stderr.splitlines() == [
        f"zoo predict: error: {tmp_path / 'missing'} does not exist"
    ]


def test_a_directory_as_train_file_is_a_one_line_error(tmp_path):
    result = zoo_command("train", "sentiment_lstm", "--train-file", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"zoo train: error: train_file='{tmp_path}' is a directory; expected a file"
    ]


def test_an_export_version_in_use_fails_before_training(tmp_path):
    (tmp_path / "exports" / "topic_gru" / "1").mkdir(parents=True)
    result = zoo_command(
        "train",
        "topic_gru",
        "--export-dir",
        str(tmp_path / "exports"),
        "--version",
        "1",
        "--run-dir",
        str(tmp_path / "run"),
    )
    assert result.returncode == 2 and "version=1 already exists" in result.stderr
    assert not (tmp_path / "run").exists()


def test_the_docs_show_the_help_as_it_prints():
    import os

    page = (REPO / "docs" / "cli.md").read_text()
    env = {**os.environ, "COLUMNS": "100"}
    for args in (["--help"], ["train", "--help"], ["train", "sentiment_lstm", "--help"]):
        printed = zoo_command(*args, env=env).stdout.rstrip()
        assert printed and printed in page, f"docs/cli.md's `zoo {' '.join(args)}` is out of date"


def test_the_docs_layout_matches_the_tree():
    """Every module and folder of zoo/ (and each top-level folder) has its line in
    docs/layout.md's tree, and no line names something that is not there."""
    page = (REPO / "docs" / "layout.md").read_text()
    block = re.search(r"^```[^\n]*\n(.*?)^```", page, re.S | re.M).group(1)
    listed = {line.split()[0] for line in block.splitlines() if line.strip()}
    package = REPO / "zoo"
    present = {f"zoo/{p.name}" for p in package.glob("*.py")}
    present |= {
        f"zoo/{p.name}/"
        for p in package.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name != "tasks"
    }
    tasks = package / "tasks"
    present |= {f"zoo/tasks/{p.name}" for p in tasks.glob("*.py") if p.name != "__init__.py"}
    present |= {f"zoo/tasks/{p.name}/" for p in tasks.iterdir() if (p / "__init__.py").exists()}
    present |= {"recipes/", "tests/", "benchmarks/", "data/", "saved_models/", "docs/"}
    assert listed == present, (sorted(listed - present), sorted(present - listed))
    for folder in [p for p in tasks.iterdir() if (p / "__init__.py").exists()]:
        line = next(
            line for line in block.splitlines() if line.startswith(f"zoo/tasks/{folder.name}/")
        )
        modules = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"}
        assert all(re.search(rf"\b{m}\b", line) for m in modules), (folder.name, modules, line)


def test_the_readme_is_short():
    readme = REPO / "README.md"
    assert readme.stat().st_size <= 15_000, "README.md is over 15,000 bytes: move detail to docs/"
    long = [n for n, line in enumerate(readme.read_text().splitlines(), 1) if len(line) > 300]
    assert not long, f"README.md lines over 300 characters: {long}"


def test_every_relative_link_in_the_readme_and_docs_points_to_a_file():
    """Links such as ``docs/x.md`` or ``x.md#anchor`` (and images) name a file that exists;
    web links and links to an anchor of the same page are left alone."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)  # code blocks
        text = re.sub(r"`[^`\n]*`", "", text)  # inline code
        for target in re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
                continue  # http(s):, mailto: and the like; an anchor of this page
            path = target.split("#", 1)[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, broken
