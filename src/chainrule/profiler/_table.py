"""The text table of ``EventList.table``, laid out as PyTorch's: Name, Self CPU %, Self CPU,
CPU total %, CPU total, CPU time avg, then CPU Mem and Self CPU Mem (with ``profile_memory``),
# of Calls, Input Shapes (when the rows carry them) and Total FLOPs (with ``with_flops``)."""

from __future__ import annotations

__all__ = ["build_table", "format_memory", "format_time"]

SORT_KEYS = ("cpu_time_total", "self_cpu_time_total", "cpu_time", "count", "cpu_memory_usage",
             "self_cpu_memory_usage", "flops")
_WIDTH = 12


TIME_UNITS = {"s": 1e6, "ms": 1e3, "us": 1.0}


def format_time(us: float, unit: str | None = None) -> str:
    """Microseconds in ``unit`` ("s", "ms" or "us"), else in the one PyTorch's table picks for
    the number; three decimals."""
    if unit is not None:
        return f"{us / TIME_UNITS[unit]:.3f}{unit}"
    if abs(us) >= 1e6:
        return f"{us / 1e6:.3f}s"
    if abs(us) >= 1e3:
        return f"{us / 1e3:.3f}" + "ms"
    return f"{us:.3f}" + "us"


def format_memory(nbytes: int) -> str:
    """Bytes as B, KB, MB or GB (powers of 1024), as PyTorch's table."""
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{int(nbytes)} B"


def _flops_unit(largest: float) -> tuple[str, float]:
    for prefix, size in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if largest >= size:
            return prefix, size
    return "", 1.0


def _percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.2f}%" if whole > 0 else "0.00%"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."


def build_table(rows, *, sort_by, row_limit, header, name_width, shapes_width, memory, flops,
                total, time_unit=None) -> str:
    """The rows (events or averages) as a table; ``total`` is the Self CPU time total (the 100% of
    both percentage columns, as in PyTorch); every time in ``time_unit`` when given."""
    if time_unit is not None and time_unit not in TIME_UNITS:
        # PyTorch ignores a unit it does not know; a typo should not pass unnoticed
        raise ValueError(f"table: time_unit must be 's', 'ms', 'us' or None, got {time_unit!r}")
    if sort_by is not None:
        if sort_by not in SORT_KEYS:
            device = any(d in sort_by for d in ("cuda", "device", "xpu", "privateuse1"))
            raise ValueError(f"table: sort_by must be one of {', '.join(SORT_KEYS)} (or None), "
                             f"got {sort_by!r}" + ("; chainrule records no device times (every "
                                                   "op is timed on the host)" if device else ""))
        rows = sorted(rows, key=lambda e: getattr(e, sort_by), reverse=True)
    if not isinstance(row_limit, int) or isinstance(row_limit, bool):
        raise TypeError(f"table: row_limit must be an int, got {row_limit!r}")
    if row_limit >= 0:
        rows = rows[:row_limit]
    shapes = any(getattr(e, "input_shapes", None) for e in rows)
    show_flops = flops and any(e.flops for e in rows)
    name_w = min(max([len("Name"), *(len(e.key) for e in rows)]) + 2, name_width)
    heads = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if memory:
        heads += ["CPU Mem", "Self CPU Mem"]
    heads.append("# of Calls")
    shapes_w = 0
    if shapes:
        shapes_w = min(max(len("Input Shapes"), *(len(str(e.input_shapes)) for e in rows)) + 2,
                       shapes_width)
    prefix, scale = _flops_unit(max((e.flops for e in rows), default=0))
    widths = [name_w] + [_WIDTH] * len(heads)
    titles = ["Name", *heads]
    if shapes:
        widths.append(shapes_w)
        titles.append("Input Shapes")
    if show_flops:
        widths.append(_WIDTH)
        titles.append(f"Total {prefix}FLOPs")
    rule = "  ".join("-" * w for w in widths)

    def line(cells):
        return "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))

    out = []
    if header is not None:
        out.append("=" * len(rule))
        out.append(header)
    out += [rule, line(titles), rule]
    for e in rows:
        cells = [_clip(e.key, name_w), _percent(e.self_cpu_time_total, total),
                 format_time(e.self_cpu_time_total, time_unit), _percent(e.cpu_time_total, total),
                 format_time(e.cpu_time_total, time_unit), format_time(e.cpu_time, time_unit)]
        if memory:
            cells += [format_memory(e.cpu_memory_usage), format_memory(e.self_cpu_memory_usage)]
        cells.append(e.count)
        if shapes:
            cells.append(_clip(str(e.input_shapes or []), shapes_w))
        if show_flops:
            cells.append(f"{e.flops / scale:.3f}" if e.flops else "--")
        out.append(line(cells))
    out.append(rule)
    out.append(f"Self CPU time total: {format_time(total, time_unit)}")
    return "\n".join(out) + "\n"
