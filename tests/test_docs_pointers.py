"""What README.md and docs/*.md point at is there.

A reader follows the names the pages give: a file (`ops/conv.py`, `tests/compat/real_programs.py`),
a name in a file (`ops/_conj.py:cj`, "`autograd/graph.py`'s `_node_observer`", pytest's
`test_x.py::test_name`), a command line option and its value (`chainrule train --schedule cosine`,
`python benchmarks/run.py --workloads ...`), a model or dataset to train, a setting
(`cr.config.jit`, `CHAINRULE_JIT`), a name of the library (`cr.fft.rfft`), a signature with its
defaults (training.md's callbacks), a section (`(performance.md, "Threads")`) or a link. These
tests read the pages and the source (and import chainrule); they run no snippet (the guides'
snippets are run by the run_guide tests and test_docs_snippets.py). A pointer into a file gives a
name, not a line number: line numbers go stale with every edit above them.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import importlib
import inspect
import os
import re
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Where a path a page gives is looked up: the clone, the package (`ops/conv.py`), src/.
ROOTS = (REPO, REPO / "src" / "chainrule", REPO / "src")
# Files architecture.md's history names as removed: they must stay gone, or the page must change.
GONE = {"autograd/accumulate.py", "ops/_broadcast.py"}
# A user's own files that pages name (nanoGPT's `train.py`, valgrind's `python script.py`).
USER_FILES = {"script.py", "train.py"}

_PATH = re.compile(r"(?<![\w/.*-])((?:[\w.*-]+/)*[\w*-]+\.(?:py|md))(?:::?(\w[\w.]*))?(?![\w/])")
_OWN_NAME = re.compile(r"`((?:[\w.-]+/)*[\w-]+\.py)`'s `(\w+)")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_LIBRARY_NAME = re.compile(r"(?<![\w.])(?:cr|chainrule)(?:\.[A-Za-z_]\w*)+")
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _all_pages():
    return [(page.relative_to(REPO).as_posix(), _text(page)) for page in PAGES]


@cache
def _tree() -> dict:
    """The clone's files and folders by name, outside .git, .venv and node_modules: walked once
    (a search per name walked the whole virtual environment each time)."""
    by_name = {}
    for folder, subfolders, files in os.walk(REPO):
        subfolders[:] = [s for s in subfolders if s not in {".git", ".venv", "node_modules"}]
        for name in (*subfolders, *files):
            by_name.setdefault(name, []).append(Path(folder) / name)
    return by_name


def _resolve(path: str) -> list[Path]:
    if "/" not in path:
        if "*" not in path:
            return list(_tree().get(path, ()))
        return [p for name, found in _tree().items() if fnmatch.fnmatchcase(name, path)
                for p in found]
    if "*" in path:
        return [p for root in ROOTS for p in root.glob(path)]
    return [root / path for root in ROOTS if (root / path).is_file()]


def test_every_file_a_page_names_exists():
    missing = []
    for page, text in _all_pages():
        for number, line in enumerate(text.splitlines(), 1):
            for match in _PATH.finditer(line):
                path = match.group(1)
                if path in USER_FILES:
                    continue
                found = _resolve(path)
                if path in GONE:
                    assert not found, f"{path} is back: update the pages that call it gone"
                elif not found:
                    missing.append(f"{page}:{number}: {path}")
    assert not missing, "files the docs name that are not in the clone:\n" + "\n".join(missing)


@cache
def _defined(path: Path) -> frozenset:
    """Qualified names a Python file defines: functions, classes, methods, assignments, imports."""
    names = set()

    def visit(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(prefix + node.name)
                if isinstance(node, ast.ClassDef):
                    visit(node.body, prefix + node.name + ".")
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for leaf in ast.walk(target):
                        if isinstance(leaf, ast.Name):
                            names.add(prefix + leaf.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update(prefix + (a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body, prefix)
                visit(getattr(node, "orelse", []), prefix)

    visit(ast.parse(path.read_text(encoding="utf-8")).body, "")
    return frozenset(names)


def _name_pointers():
    for page, text in _all_pages():
        for number, line in enumerate(text.splitlines(), 1):
            for match in _PATH.finditer(line):
                if match.group(2) and match.group(1).endswith(".py"):
                    yield page, number, match.group(1), match.group(2)
            for match in _OWN_NAME.finditer(line):
                yield page, number, match.group(1), match.group(2)


def test_every_name_a_page_gives_in_a_file_is_defined_there():
    pointers = list(_name_pointers())
    assert len(pointers) >= 5  # the patterns still find the pages' pointers
    wrong = []
    for page, number, path, name in pointers:
        if name.isdigit():
            wrong.append(f"{page}:{number}: {path}:{name} (a line number: name the function)")
            continue
        files = _resolve(path)
        if not any(name.rstrip(".") in _defined(f) for f in files):
            wrong.append(f"{page}:{number}: {path} defines no {name}")
    assert not wrong, "\n".join(wrong)


@cache
def _cli_options() -> tuple[set, dict]:
    from chainrule.cli.main import _parser

    parser = _parser()
    top = {s for action in parser._actions for s in action.option_strings}
    commands = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands[name] = {s for a in sub._actions for s in a.option_strings}
    return top, commands


def _command_lines():
    """(page, command) for each shell command the pages show: lines of the non-Python code
    blocks (continuations joined, comments and prompts cut) and inline code spans."""
    for page, text in _all_pages():
        for fence in _FENCE.finditer(text):
            if fence.group(1) == "python":
                continue
            for line in fence.group(2).replace("\\\n", " ").splitlines():
                line = re.sub(r"\s#.*", "", line).removeprefix("$ ")
                for part in re.split(r"&&|;|\|\|", line):
                    yield page, part
        prose = _FENCE.sub("", text)
        for span in re.finditer(r"`([^`]+)`", prose):
            yield page, span.group(1).replace("\n", " ")


def _strip_env(command: str) -> str:
    return re.sub(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+", "", command.strip())


def test_every_chainrule_command_and_option_the_pages_show_exists():
    top, commands = _cli_options()
    seen, wrong = 0, []
    for page, line in _command_lines():
        command = _strip_env(line)
        match = re.match(r"(?:python3? -m )?chainrule\s+(\S+)(.*)", command)
        if not match or match.group(1).isupper():  # `chainrule COMMAND --help`
            continue
        word, rest = match.group(1), match.group(2)
        if word.startswith("--"):
            names, rest = [], word + rest
        else:
            names = word.split("|")
        unknown = [n for n in names if n not in commands]
        if unknown:
            wrong.append(f"{page}: no subcommand {unknown} in `{command}`")
            continue
        seen += 1
        allowed = top | (commands[names[0]] if names else set())
        for flag in _FLAG.findall(rest):
            if flag not in allowed:  # exactly: argparse's prefix matching would hide a rename
                wrong.append(f"{page}: `chainrule {names[0] if names else ''}` has no {flag}: "
                             f"`{command[:120]}`")
    assert seen >= 50  # the pages' commands were found
    assert not wrong, "\n".join(wrong)


def test_every_value_the_pages_give_an_option_with_choices_is_one_of_them():
    """`--schedule cosine`, `--method fgsm|pgd|apgd|cw|deepfool`: values argparse accepts."""
    from chainrule.cli.main import _parser

    choices = {}
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for option in sub._actions:
                    for string in option.option_strings if option.choices else ():
                        choices[name, string] = {str(c) for c in option.choices}
    checked, wrong = 0, []
    for page, line in _command_lines():
        match = re.match(r"(?:python3? -m )?chainrule\s+([a-z_]+)(.*)", _strip_env(line))
        if not match:
            continue
        for flag, value in re.findall(r"(--[a-z][a-z0-9-]*)[ =]([^\s`\[\]]+)", match.group(2)):
            allowed = choices.get((match.group(1), flag))
            if allowed is None or value.startswith("--") or value.isupper():
                continue
            checked += 1
            wrong += [f"{page}: chainrule {match.group(1)} {flag} {v}: not one of {sorted(allowed)}"
                      for v in re.split(r"\\?\|", value.strip("'\"")) if v not in allowed]
    assert checked >= 30
    assert not wrong, "\n".join(wrong)


def test_every_model_and_dataset_the_pages_train_exists():
    """`chainrule train MODEL --dataset NAME`: a registered model (or generative task) and a
    dataset `chainrule datasets` lists."""
    from chainrule import experiments, models
    from chainrule.experiments.generative import GENERATIVE_TASKS

    known = {info.name for info in models.available()} | set(GENERATIVE_TASKS)
    datasets = {*experiments.DATASETS, *experiments.TEXT_DATASETS}
    wrong, seen = [], 0
    for page, line in _command_lines():
        command = _strip_env(line)
        match = re.match(r"(?:python3? -m )?chainrule\s+train\s+([a-z_0-9|]+)", command)
        if match:
            seen += 1
            wrong += [f"{page}: no model {name}: `{command[:100]}`"
                      for name in match.group(1).split("|") if name not in known]
        wrong += [f"{page}: no dataset {name}: `{command[:100]}`"
                  for name in re.findall(r"--dataset ([a-z_0-9]+)", command)
                  if name not in datasets]
    assert seen >= 30
    assert not wrong, "\n".join(wrong)


def test_every_option_of_a_script_the_pages_run_exists():
    """`python benchmarks/run.py --workloads ...`: the script's source names the option."""
    seen, wrong = 0, []
    for page, line in _command_lines():
        command = _strip_env(line)
        match = re.match(r"python3? ((?:benchmarks|examples|tools)/\w+\.py)(.*)", command)
        if not match:
            continue
        script = REPO / match.group(1)
        if not script.is_file():
            wrong.append(f"{page}: no {match.group(1)}")
            continue
        seen += 1
        source = script.read_text(encoding="utf-8")
        for flag in _FLAG.findall(match.group(2)):
            if f'"{flag}"' not in source and f"'{flag}'" not in source:
                wrong.append(f"{page}: {match.group(1)} has no {flag}: `{command[:120]}`")
    assert seen >= 20
    assert not wrong, "\n".join(wrong)


def test_every_setting_and_variable_the_pages_name_is_one():
    import chainrule as cr
    from chainrule.backend.settings import SETTINGS

    variables = {s.variable for s in SETTINGS.values()}
    wrong = []
    for page, text in _all_pages():
        for variable in set(re.findall(r"\bCHAINRULE_[A-Z_]*[A-Z]", text)) - variables:
            wrong.append(f"{page}: {variable} is no setting's variable")
        for name in set(re.findall(r"\b(?:cr|chainrule)\.config\.(\w+)", text)):
            if not hasattr(cr.config, name):
                wrong.append(f"{page}: cr.config has no {name}")
    assert not wrong, "\n".join(wrong)


def _library_names():
    for page, text in _all_pages():
        for span in re.finditer(r"`([^`]+)`", _FENCE.sub("", text)):
            for dotted in _LIBRARY_NAME.findall(span.group(1)):
                yield page, dotted


def _exists(dotted: str) -> bool:
    parts = dotted.split(".")
    module, obj = "chainrule", importlib.import_module("chainrule")
    for part in parts[1:]:
        if hasattr(obj, part):
            obj = getattr(obj, part)
            module = f"{module}.{part}"
            continue
        try:
            obj = importlib.import_module(f"{module}.{part}")
        except ImportError:
            return False
        module = f"{module}.{part}"
    return True


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_every_chainrule_name_the_pages_give_exists():
    names = sorted(set(_library_names()))
    assert len(names) >= 100
    wrong = [f"{page}: {dotted}" for page, dotted in names if not _exists(dotted)]
    assert not wrong, "names of chainrule the docs give that it does not have:\n" + "\n".join(wrong)


# Where the signatures of the pages' tables are looked up, in order.
_SIGNATURE_HOMES = ("chainrule.train", "chainrule.data.datasets", "chainrule.data",
                    "chainrule.profiler", "chainrule")
_BARE_KEYWORD = re.compile(r"(\w+)=\s*(?=,|$)")
_ELLIPSIS = re.compile(r"^\.\.\.,\s*|,\s*\.\.\.\s*$")


def _table_signatures():
    row = re.compile(r"^\| `((?:[\w]+\.)*\w+)\(([^`|]*=[^`|]*)\)`", re.M)
    for page, text in _all_pages():
        for match in row.finditer(text):
            yield page, match.group(1), match.group(2)


def _callable(dotted: str):
    if dotted.startswith(("chainrule.", "cr.")):
        module, _, name = dotted.replace("cr.", "chainrule.", 1).rpartition(".")
        return getattr(importlib.import_module(module), name, None)
    for home in _SIGNATURE_HOMES:
        found = importlib.import_module(home)
        for part in dotted.split("."):
            found = getattr(found, part, None)
        if found is not None:
            return found
    return None


def test_the_signatures_in_the_pages_tables_are_the_code_s():
    """`| `EarlyStopping(monitor="val_loss", patience=5, ...)` | ...`: each keyword a parameter,
    each default given the parameter's default."""
    checked, wrong = 0, []
    for page, name, arguments in _table_signatures():
        function = _callable(name)
        if function is None:
            continue  # an object's method (`prof.key_averages`)
        parameters = inspect.signature(function).parameters
        # `schedule(wait=, ...)` names a parameter without its default: read it as `wait=...`.
        arguments = _ELLIPSIS.sub("", arguments)  # `(..., dynamo=True)`, `(a=1, ...)`
        source = "f(" + _BARE_KEYWORD.sub(r"\1=...", arguments) + ")"
        call = ast.parse(source).body[0].value
        for keyword in call.keywords:
            checked += 1
            if keyword.arg not in parameters:
                wrong.append(f"{page}: {name} has no parameter {keyword.arg}")
                continue
            if not isinstance(keyword.value, (ast.Constant, ast.Tuple, ast.UnaryOp)):
                continue  # `generator=g`: an example's value, not a default
            given, default = ast.literal_eval(keyword.value), parameters[keyword.arg].default
            if given is not Ellipsis and given != default and not (
                    isinstance(default, tuple) and tuple(given) == default):
                wrong.append(f"{page}: {name}({keyword.arg}={given!r}), but the code's default "
                             f"is {default!r}")
    assert checked >= 40
    assert not wrong, "\n".join(wrong)


def test_every_section_a_page_sends_the_reader_to_exists():
    """`(docs/performance.md, "On a GPU")`, `see "Type promotion" above`: a heading, or the bold
    lead of a paragraph, of that page starts with the title."""
    cross = re.compile(r"([\w/]+\.md)`?,? [\"“]([^\"”]+)[\"”]")
    inside = re.compile(r"\b(?:see|See) [\"“]([^\"”]{3,60})[\"”]")
    checked, wrong = 0, []
    for page, text in _all_pages():
        flat = " ".join(text.split())
        references = [(target, title) for target, title in cross.findall(flat)]
        references += [(page, title) for title in inside.findall(flat)]
        for target, title in references:
            found = [p for p in (REPO / target, REPO / "docs" / Path(target).name) if p.is_file()]
            if not found:
                wrong.append(f"{page}: no page {target}")
                continue
            checked += 1
            lead = re.compile(r"(?:^#+ |\*\*)" + re.escape(title), re.M | re.I)
            if not lead.search(_text(found[0])):
                wrong.append(f'{page}: {target} has no section "{title}"')
    assert checked >= 5
    assert not wrong, "\n".join(wrong)


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_of_the_pages_reaches_its_file_and_heading():
    """`[Threads](#threads-steady-speed-on-a-busy-machine)`, `![...](figures/x.png)`,
    `[autograd.md](autograd.md#finding-the-op-behind-a-nan-gradient-detect_anomaly)`."""
    checked, wrong = 0, []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", _FENCE.sub("", _text(page))):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            checked += 1
            path, _, anchor = target.partition("#")
            linked = page.parent / path if path else page
            if not linked.exists():
                wrong.append(f"{page.name}: no {target}")
            elif anchor and linked.suffix == ".md":
                headings = [line.lstrip("#") for line in _text(linked).splitlines()
                            if line.startswith("#")]
                if anchor not in {_anchor(h) for h in headings}:
                    wrong.append(f"{page.name}: {linked.name} has no heading #{anchor}")
    assert checked >= 50
    assert not wrong, "\n".join(wrong)
