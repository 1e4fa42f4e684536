"""The calls README.md and docs/*.md write in their prose take the keywords the pages give them.

A reader copies `EpsilonRule(epsilon=0.25)` or `Trainer(..., device="cuda")` from a sentence into
a program. tests/test_docs_pointers.py checks the names and the signatures of the pages' tables;
this test checks every call in an inline code span (outside the code blocks, which the run_guide
tests run) whose name is one of chainrule's callables: each keyword must be a parameter of it
(or of a Module's `forward`). The values are examples, not defaults, and are not compared.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_CALL = re.compile(r"(?<![\w.])((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\(([^()]*(?:\([^()]*\)[^()]*)*)\)")
# Where a bare name (`Trainer`, `EpsilonRule`, `clip_grad_norm_`) is looked up.
_HOMES = (
    "chainrule",
    "chainrule.nn",
    "chainrule.nn.functional",
    "chainrule.optim",
    "chainrule.optim.lr_scheduler",
    "chainrule.optim.swa_utils",
    "chainrule.train",
    "chainrule.data",
    "chainrule.data.datasets",
    "chainrule.data.transforms",
    "chainrule.profiler",
    "chainrule.func",
    "chainrule.robust",
    "chainrule.explain",
    "chainrule.generative",
    "chainrule.bayes",
    "chainrule.models",
    "chainrule.io",
    "chainrule.onnx",
    "chainrule.sparse",
    "chainrule.fft",
    "chainrule.linalg",
    "chainrule.special",
    "chainrule.distributions",
    "chainrule.amp",
    "chainrule.nn.utils",
    "chainrule.nn.init",
    "chainrule.vision.transforms",
    "chainrule.vision.datasets",
    "chainrule.utils.data",
    "chainrule.autograd",
)
_PREFIXES = {
    "cr": "chainrule",
    "chainrule": "chainrule",
    "F": "chainrule.nn.functional",
    "nn": "chainrule.nn",
    "optim": "chainrule.optim",
}
_OTHER_LIBRARIES = {"torch", "np", "numpy", "scipy", "jax", "tf", "captum", "onnx", "ort"}
# Spans that show a keyword chainrule does not take, on purpose.
_NOT_CALLS = {
    "cr.where(cond=...)",  # the old keyword, "now condition="
    "cholesky_solve(B=, L=)",  # names of PyTorch's docstring that PyTorch itself refuses
    "tensor(..., device='meta', size=(2, 3))",  # a meta tensor's repr
}


def _candidates(dotted: str) -> list:
    parts = dotted.split(".")
    if parts[0] in _PREFIXES:
        starts, parts = [importlib.import_module(_PREFIXES[parts[0]])], parts[1:]
    else:
        starts = [importlib.import_module(home) for home in _HOMES]
    found = []
    for obj in starts:
        for part in parts:
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None and callable(obj):
            found.append(obj)
    return found


def _accepts(function, keyword: str) -> bool:
    targets = [function]
    if inspect.isclass(function) and callable(getattr(function, "forward", None)):
        targets.append(function.forward)  # `MultiheadAttention(is_causal=True)`: a call's keyword
    for target in targets:
        try:
            parameters = inspect.signature(target).parameters
        except (TypeError, ValueError):
            return True  # a builtin without a signature: nothing to check
        if keyword in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return True
    return False


def _prose_calls():
    for page in PAGES:
        prose = _FENCE.sub("", page.read_text(encoding="utf-8"))
        for span in re.finditer(r"`([^`]+)`", prose):
            text = " ".join(span.group(1).split())
            if text in _NOT_CALLS:
                continue
            for match in _CALL.finditer(text):
                name, arguments = match.groups()
                if "=" not in arguments or name.split(".")[0] in _OTHER_LIBRARIES:
                    continue
                # `schedule(wait=, ...)` names a keyword without its value.
                source = "f(" + re.sub(r"(\w+)=\s*(?=,|$)", r"\1=...", arguments) + ")"
                try:
                    call = ast.parse(source).body[0].value
                except SyntaxError:
                    continue  # prose, not a call: `f(x) = a x + b`
                keywords = [k.arg for k in call.keywords if k.arg]
                if keywords:
                    yield page.relative_to(REPO).as_posix(), name, keywords, text


def test_every_keyword_a_page_passes_to_a_chainrule_call_is_a_parameter():
    checked, wrong = 0, []
    for page, name, keywords, text in _prose_calls():
        functions = _candidates(name)
        if not functions:
            continue  # a user's function, or a method of an object (`prof.key_averages`)
        checked += 1
        for keyword in keywords:
            if not any(_accepts(f, keyword) for f in functions):
                wrong.append(f"{page}: {name} takes no {keyword}= (in `{text[:100]}`)")
    assert checked >= 200  # the pattern still finds the pages' calls
    assert not wrong, "\n".join(wrong)
