"""House rules of DESIGN.md ("Speed without burying the lecture"), checked by reading the sources.

- Files stay readable: no module under src/chainrule is over MAX_LINES lines, except the few listed
  in LONG_FILES with the reason and a ceiling they must stay under.
- Timing figures live in docs/performance.md ("Figures behind the code"), not in the code: no line
  quotes a measured time (12.3 us, 0.7 ms, 0.18 s), a speed ratio (3x faster) or a measured memory
  figure (130 -> 79 MiB). A comment says why, in words that stay true.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "chainrule"

MAX_LINES = 425  # issue 16: "files stay under ~400 lines"

# path under src/chainrule -> (ceiling, why it is longer); none is, now
LONG_FILES: dict[str, tuple[int, str]] = {}

TIMING = re.compile(
    r"\d(\.\d+)? ?(ns|us|µs|ms)\b"                 # 12.3 us, 0.7 ms
    r"|\d\.\d+ s\b"                                 # 0.18 s
    r"|\d(\.\d+)?x (faster|slower)|~\d+(\.\d+)?x\b"  # 5x faster, ~15x
    r"|\d ?(MiB|GiB|MB|GB) (of memory|peak)"        # 110 MiB of memory
    r"|-> ?\d+(\.\d+)? ?(MiB|GiB|MB|GB)\b"          # 130 -> 79 MiB
)

# path under src/chainrule -> why a figure may stay there for now
TIMING_ALLOWED: dict[str, str] = {}  # file -> why it may quote a figure (none may, now)


def _sources():
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), path


def test_files_stay_under_the_size_limit():
    too_long = []
    for name, path in _sources():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        ceiling, _why = LONG_FILES.get(name, (MAX_LINES, None))
        if lines > ceiling:
            too_long.append(f"{name}: {lines} lines (limit {ceiling})")
    assert not too_long, ("split these by what they are about (or list them in LONG_FILES with "
                          "the reason):\n" + "\n".join(too_long))


def test_the_listed_long_files_exist():
    assert all((SRC / name).is_file() for name in LONG_FILES)


def test_no_code_quotes_a_timing():
    found = []
    for name, path in _sources():
        if name in TIMING_ALLOWED:
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if TIMING.search(line):
                found.append(f"{name}:{lineno}: {line.strip()}")
    assert not found, ("move these figures to docs/performance.md ('Figures behind the code') and "
                       "say why in words that stay true:\n" + "\n".join(found))


def test_the_timing_pattern_finds_figures_and_spares_the_rest():
    for quoted in ["0.6 us instead of 3 us", "took 8.8 ms", "16.5, 19.7 and 7.8 µs", "0.18 s and",
                   "~15x slower", "about 5x faster", "~110 MiB of memory", "130 -> 79 MiB peak"]:
        assert TIMING.search(quoted), quoted
    for plain in ["12.3s - loss: 0.3412", "2**20 multiply-adds", "from 8 MiB, a free buffer",
                  "kernel 5 x 5", "(N, C, H, W)", "MNIST's 180 MiB once", "0x{code:02x}"]:
        assert not TIMING.search(plain), plain
