"""The three summaries of TensorBoard's hparams plugin, as ``SummaryWriter.add_hparams`` writes.

Field numbers from the ``tensorboard`` package's descriptors: ``HParamsPluginData`` (version = 1,
experiment = 2, session_start_info = 3, session_end_info = 4), ``Experiment`` (hparam_infos = 4,
metric_infos = 5), ``HParamInfo`` (name = 1, type = 4, domain_discrete = 5 ``ListValue``),
``MetricInfo`` (name = 1 ``MetricName``: tag = 2), ``SessionStartInfo`` (hparams = 1, a map of
string to ``google.protobuf.Value``), ``SessionEndInfo`` (status = 1), ``Value`` (number_value =
2, string_value = 3), ``ListValue`` (values = 1). As in PyTorch, bools are logged as numbers.
"""

from __future__ import annotations

from ._records import _bytes, _double, _int, plugin_metadata, summary_value
from ._summary import to_numpy

_FLOAT64, _STRING = 3, 1  # hparams api.proto DataType
_STATUS_SUCCESS = 1
_VERSION = 0  # the plugin's PLUGIN_DATA_VERSION
EXPERIMENT_TAG = "_hparams_/experiment"
SESSION_START_TAG = "_hparams_/session_start_info"
SESSION_END_TAG = "_hparams_/session_end_info"


def _value(kind: int, v) -> bytes:
    """A ``google.protobuf.Value`` (a oneof: written even when zero or empty)."""
    return _double(2, float(v)) if kind == _FLOAT64 else _bytes(3, v.encode())


def _kind_and_value(name: str, v):
    # The order of PyTorch's checks: bool is an int, so True and False are logged as numbers.
    if isinstance(v, (int, float)):
        return _FLOAT64, v
    if isinstance(v, str):
        return _STRING, v
    arr = None
    if not isinstance(v, (list, tuple, dict, set)):  # a Tensor, NumPy array or NumPy number
        try:
            arr = to_numpy(v, f"hparam_dict[{name!r}]")
        except TypeError:
            pass
    if arr is None or arr.size < 1 or arr.dtype.kind not in "biuf":
        raise ValueError(f"hparam_dict[{name!r}]: expected an int, float, str, bool or a "
                         f"Tensor, got {type(v).__name__} {v!r}")
    return _FLOAT64, float(arr.reshape(-1)[0])  # PyTorch keeps a Tensor's first element


def _plugin_summary(tag: str, field: int, message: bytes) -> bytes:
    content = _bytes(field, message)  # version 0 is proto3's default: left out
    return summary_value(tag, metadata=plugin_metadata("hparams", content))


def hparams(hparam_dict, metric_dict, hparam_domain_discrete=None) -> list[bytes]:
    """The experiment, session-start and session-end ``Summary.Value``s, in that order."""
    if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
        raise TypeError(f"add_hparams: hparam_dict and metric_dict must be dicts, got "
                        f"{type(hparam_dict).__name__} and {type(metric_dict).__name__}")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError(f"hparam_domain_discrete: expected a dict, got {type(domains).__name__}")
    for k, values in domains.items():
        if k not in hparam_dict or not isinstance(values, list) \
                or not all(isinstance(d, type(hparam_dict[k])) for d in values):
            raise TypeError(f"hparam_domain_discrete[{k!r}]: expected a list of values of the "
                            f"type of hparam_dict[{k!r}], got {values!r}")
    infos, start = b"", b""
    for k, v in hparam_dict.items():
        if v is None:
            continue
        kind, v = _kind_and_value(str(k), v)
        start += _bytes(1, _bytes(1, str(k).encode()) + _bytes(2, _value(kind, v)))
        info = _bytes(1, str(k).encode()) + _int(4, kind)
        if k in domains and isinstance(hparam_dict[k], (int, float, str)):
            info += _bytes(5, b"".join(_bytes(1, _value(kind, d)) for d in domains[k]))
        infos += _bytes(4, info)
    metrics = b"".join(_bytes(5, _bytes(1, _bytes(2, str(k).encode()))) for k in metric_dict)
    return [_plugin_summary(EXPERIMENT_TAG, 2, infos + metrics),
            _plugin_summary(SESSION_START_TAG, 3, start),
            _plugin_summary(SESSION_END_TAG, 4, _int(1, _STATUS_SUCCESS))]
