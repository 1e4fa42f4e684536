"""A small, safe interpreter of the pickle opcodes that ``torch.save`` writes.

Python's ``pickle`` module imports and calls whatever a file names, so chainrule never uses it.
This reads the opcode stream itself: plain values (None, bools, ints, floats, strings, bytes,
tuples, lists, dicts, sets) are built directly, and a name a file refers to (``GLOBAL``,
``STACK_GLOBAL``) is looked up in a table the caller passes in, which maps the few names
``torch.save`` uses for tensors (``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage``,
``collections.OrderedDict``...) to chainrule's own constructors. Any other name is refused when
it is read, before anything further happens; nothing is imported and no code of the file runs.
"""

from __future__ import annotations

import inspect
import re
import reprlib
import struct

__all__ = ["Global", "PickleError", "run_pickle", "short"]

_REPR = reprlib.Repr()


def short(value) -> str:
    """A value from the file in a message: a few items, levels and digits of it, never all."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"<an int of {value.bit_length()} bits>"
    try:
        return _REPR.repr(value)
    except ValueError:  # an int too long to print, inside a container
        return f"<a {type(value).__name__} holding an int too long to print>"


class PickleError(ValueError):
    """The pickle stream is damaged, uses an opcode torch.save does not write, or names a
    global chainrule does not read."""


class Global:
    """A function from the allowed table: ``call`` builds the value REDUCE asks for. (A name
    that stands for a value, such as ``torch.float32``, maps to the value itself.)"""

    def __init__(self, name: str, call, own_errors: bool = False):
        self.name, self.call, self.own_errors = name, call, own_errors

    def __repr__(self) -> str:
        return f"<{self.name}>"


class _Mark:
    pass


_MARK = _Mark()
# protocol 2 spells builtins the Python 2 way; PyTorch's own reader maps them the same way
_RENAMED = {"__builtin__": "builtins", "copy_reg": "copyreg"}


class _Reader:
    def __init__(self, data: bytes, who: str):
        self.data, self.pos, self.who = data, 0, who

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise PickleError(f"{self.who}: the pickle stream is truncated (needs {n} bytes at "
                              f"offset {self.pos}, {len(self.data) - self.pos} left)")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unsigned(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")

    def line(self) -> str:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise PickleError(f"{self.who}: the pickle stream is truncated (a GLOBAL name has "
                              "no end of line)")
        text = self.data[self.pos:end]
        self.pos = end + 1
        return self._text(text, "ascii")

    def _text(self, raw: bytes, encoding: str) -> str:
        try:
            return raw.decode(encoding, "surrogatepass" if encoding == "utf-8" else "strict")
        except UnicodeDecodeError as err:
            raise PickleError(f"{self.who}: the pickle stream holds a malformed string "
                              f"({err})") from None

    def unicode(self, n: int) -> str:
        return self._text(self.take(self.unsigned(n)), "utf-8")


def _pop_mark(stack: list, marks: list, who: str) -> list:
    if not marks:
        raise PickleError(f"{who}: the pickle stream is damaged (a MARK is missing)")
    start = marks.pop()
    items = stack[start:]
    del stack[start:]
    return items


def _pop(stack: list, who: str, n: int = 1):
    if len(stack) < n or any(item is _MARK for item in stack[len(stack) - n:]):
        raise PickleError(f"{who}: the pickle stream is damaged (the stack is too short)")
    items = stack[len(stack) - n:]
    del stack[len(stack) - n:]
    return items if n > 1 else items[0]


def _set_items(target, pairs: list, who: str):
    if not isinstance(target, dict) or len(pairs) % 2:
        raise PickleError(f"{who}: the pickle stream is damaged (SETITEM(S) on a "
                          f"{type(target).__name__})")
    for key, value in zip(pairs[::2], pairs[1::2]):
        try:
            target[key] = value
        except TypeError:
            raise PickleError(f"{who}: the pickle stream uses a {type(key).__name__} as a "
                              "dict key") from None


def _add(target, items: list, who: str, kind: type):
    if not isinstance(target, kind):
        raise PickleError(f"{who}: the pickle stream is damaged (adding items to a "
                          f"{type(target).__name__})")
    try:
        target.extend(items) if kind is list else target.update(items)
    except TypeError:
        raise PickleError(f"{who}: the pickle stream puts an unhashable value in a set") from None


# PyTorch dtypes NumPy has no equivalent of (a file names them as torch.<dtype>)
_NO_NUMPY_DTYPE = re.compile(
    r"torch\.(float8_\w+|float4_\w+|complex32|u?int[1-7]|q\w*int\w+|bits\w*|bit)")


def _resolve(module: str, name: str, table: dict, who: str):
    full = f"{_RENAMED.get(module, module)}.{name}"
    if full not in table and full.startswith("torch._utils._rebuild_"):
        raise PickleError(
            f"{who}: the file holds a kind of tensor chainrule does not read (PyTorch rebuilds "
            f"it with '{full}': a sparse, quantized, nested or meta tensor); save it as a "
            "dense tensor, e.g. t.to_dense() or t.dequantize()")
    if full not in table and _NO_NUMPY_DTYPE.fullmatch(full):
        raise PickleError(
            f"{who}: the file holds a {full} tensor or dtype; NumPy has no such dtype, so "
            "chainrule cannot read it. Convert it before saving, e.g. t.float() or t.to(torch."
            "float16) (float8, float4, complex32, quantized, sub-byte and bits dtypes)")
    if full not in table:
        raise PickleError(
            f"{who}: the file refers to the Python global '{full}', which chainrule does not "
            "read: it holds a pickled Python object (a whole Module, an object of a class of "
            "one's own, a NumPy array...), and reading it would mean running its code. Save "
            "tensors and plain values instead, e.g. torch.save(model.state_dict(), path)")
    return table[full]


_FIXED = {b"K": 1, b"M": 2, b"J": -4}  # BININT1, BININT2 (unsigned), BININT (signed)
_TUPLES = {b"\x85": 1, b"\x86": 2, b"\x87": 3}
_UNICODE = {b"X": 4, b"\x8c": 1, b"\x8d": 8}
_BYTES = {b"B": 4, b"C": 1, b"\x8e": 8}
_PUT = {b"q": 1, b"r": 4}
_GET = {b"h": 1, b"j": 4}
_CONSTANTS = {b"N": None, b"\x88": True, b"\x89": False}


def run_pickle(data: bytes, table: dict, persistent_load, who: str = "load", *,
               start: int = 0, with_end: bool = False):
    """Interpret ``data`` from ``start`` and return the object it builds (and, ``with_end``,
    the offset just past its STOP: PyTorch's legacy format is several pickles in a row).

    Args:
        data: the pickle stream (``data.pkl`` of a torch.save archive).
        table: ``"module.name" -> Global`` for every name the stream may use.
        persistent_load: called with BINPERSID's value (a storage reference).
        who: the name that starts each error message.
    """
    r = _Reader(data, who)
    r.pos = start
    stack: list = []
    marks: list = []
    memo: dict = {}
    nests: dict = {}  # id -> (depth, tuple or frozenset), kept alive so that ids are not reused
    while True:
        op = r.take(1)
        if op in _FIXED:
            n = _FIXED[op]
            stack.append(int.from_bytes(r.take(abs(n)), "little", signed=n < 0))
        elif op in _CONSTANTS:
            stack.append(_CONSTANTS[op])
        elif op in _UNICODE:
            stack.append(r.unicode(_UNICODE[op]))
        elif op in _BYTES:
            stack.append(r.take(r.unsigned(_BYTES[op])))
        elif op == b"\x96":  # BYTEARRAY8: a bytearray, as protocol 5 pickles one
            stack.append(bytearray(r.take(r.unsigned(8))))
        elif op in _PUT:
            memo[r.unsigned(_PUT[op])] = _top(stack, who)
        elif op == b"\x94":  # MEMOIZE
            memo[len(memo)] = _top(stack, who)
        elif op in _GET:
            key = r.unsigned(_GET[op])
            if key not in memo:
                raise PickleError(f"{who}: the pickle stream is damaged (memo {key} unset)")
            stack.append(memo[key])
        elif op in _TUPLES:
            items = _pop(stack, who, _TUPLES[op])
            stack.append(_nested(tuple(items) if _TUPLES[op] > 1 else (items,), nests, who))
        elif op == b"(":
            marks.append(len(stack))
            stack.append(_MARK)
        elif op == b"t":
            stack.append(_nested(tuple(_pop_mark(stack, marks, who)[1:]), nests, who))
        elif op == b"l":
            stack.append(_pop_mark(stack, marks, who)[1:])
        elif op == b"d":
            pairs, target = _pop_mark(stack, marks, who)[1:], {}
            _set_items(target, pairs, who)
            stack.append(target)
        elif op in (b"}", b"]", b")", b"\x8f"):
            stack.append({b"}": {}, b"]": [], b")": (), b"\x8f": set()}[op])
        elif op == b"s":
            key, value = _pop(stack, who, 2)
            _set_items(_top(stack, who), [key, value], who)
        elif op == b"u":
            items = _pop_mark(stack, marks, who)[1:]
            _set_items(_top(stack, who), items, who)
        elif op == b"a":
            _add(_top_before(stack, who), [_pop(stack, who)], who, list)
        elif op in (b"e", b"\x90"):  # APPENDS, ADDITEMS
            items = _pop_mark(stack, marks, who)[1:]
            _add(_top(stack, who), items, who, list if op == b"e" else set)
        elif op == b"\x91":  # FROZENSET
            items = _pop_mark(stack, marks, who)[1:]
            stack.append(_nested(frozenset(_hashable(items, who)), nests, who))
        elif op == b"G":
            stack.append(struct.unpack(">d", r.take(8))[0])
        elif op in (b"\x8a", b"\x8b"):  # LONG1, LONG4
            size = r.unsigned(1 if op == b"\x8a" else 4)
            stack.append(int.from_bytes(r.take(size), "little", signed=True))
        elif op == b"c":
            module = r.line()
            stack.append(_resolve(module, r.line(), table, who))
        elif op == b"\x93":  # STACK_GLOBAL
            module, name = _pop(stack, who, 2)
            if not (isinstance(module, str) and isinstance(name, str)):
                raise PickleError(f"{who}: the pickle stream is damaged (STACK_GLOBAL of "
                                  "non-strings)")
            stack.append(_resolve(module, name, table, who))
        elif op == b"Q":
            stack.append(persistent_load(_pop(stack, who)))
        elif op == b"R":
            func, args = _pop(stack, who, 2)
            stack.append(_reduce(func, args, who))
        elif op == b"b":
            state = _pop(stack, who)
            _build(_top(stack, who), state, who)
        elif op == b"0":
            _pop(stack, who)
        elif op == b"1":
            _pop_mark(stack, marks, who)
        elif op == b"2":
            stack.append(_top(stack, who))
        elif op == b"\x80":  # PROTO
            r.take(1)
        elif op == b"\x95":  # FRAME: a length hint only
            r.take(8)
        elif op == b".":
            if len(stack) != 1 or marks:
                raise PickleError(f"{who}: the pickle stream is damaged (STOP with "
                                  f"{len(stack)} values on the stack)")
            return (stack[0], r.pos) if with_end else stack[0]
        else:
            raise PickleError(f"{who}: the pickle stream uses opcode {short(op)} at offset "
                              f"{r.pos - 1}, which chainrule does not read (torch.save writes "
                              "it only with pickle_protocol=0 or 1, whose files "
                              "torch.load(weights_only=True) refuses too: save with the "
                              "default protocol), or the file is damaged")


# tuples in tuples (or frozensets) no deeper than this: hashing a deeper one as a dict key or set
# item recurses in C without a guard and overflows the stack (the interpreter crashes)
_MAX_NESTING = 1000


def _nested(value, nests: dict, who: str):
    depth = 1 + max((nests[id(v)][0] for v in value if id(v) in nests), default=0)
    if depth > _MAX_NESTING:
        raise PickleError(f"{who}: the pickle stream nests tuples more than {_MAX_NESTING} deep "
                          "(hashing one would crash the interpreter); the file is hostile or "
                          "damaged")
    nests[id(value)] = (depth, value)
    return value


def _top(stack: list, who: str):
    if not stack or stack[-1] is _MARK:
        raise PickleError(f"{who}: the pickle stream is damaged (the stack is empty)")
    return stack[-1]


def _top_before(stack: list, who: str):
    if len(stack) < 2 or stack[-2] is _MARK:
        raise PickleError(f"{who}: the pickle stream is damaged (the stack is too short)")
    return stack[-2]


def _hashable(items: list, who: str) -> list:
    try:
        set(items)
    except TypeError:
        raise PickleError(f"{who}: the pickle stream puts an unhashable value in a set") from None
    return items


def _reduce(func, args, who: str):
    if not isinstance(func, Global):
        raise PickleError(f"{who}: the pickle stream calls {short(func)}, which is not a function "
                          "chainrule knows")
    if not isinstance(args, tuple):
        raise PickleError(f"{who}: the pickle stream is damaged (REDUCE of {func.name} with "
                          f"{type(args).__name__} arguments)")
    try:
        if func.own_errors:  # chainrule's constructor says what else is wrong, in its words
            inspect.signature(func.call).bind(*args)
        else:
            return func.call(*args)
    except TypeError as err:
        raise PickleError(f"{who}: {func.name} was given arguments it does not take "
                          f"({err})") from None
    return func.call(*args)


def _build(target, state, who: str):
    # torch.save gives a state dict its `_metadata` (each module's version) this way
    if isinstance(target, dict) and isinstance(state, dict) and set(state) <= {"_metadata"}:
        try:
            for key, value in state.items():
                setattr(target, key, value)
            return
        except AttributeError:  # a plain dict takes no attributes
            pass
    raise PickleError(f"{who}: the pickle stream sets the state of a {type(target).__name__} "
                      "(BUILD), which chainrule does not read")
