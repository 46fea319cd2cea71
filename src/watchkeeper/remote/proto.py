"""The protobuf messages of Prometheus remote write 1.0, declared with the ``protobuf``
package (a descriptor built here, classes made by its message factory: the same classes
``protoc`` would generate from Prometheus' ``prompb/remote.proto`` and ``types.proto``)::

    message WriteRequest { repeated TimeSeries timeseries = 1; reserved 2;
                           repeated MetricMetadata metadata = 3; }
    message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
                           repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
    message Label        { string name = 1; string value = 2; }
    message Sample       { double value = 1; int64 timestamp = 2; }
    message Exemplar     { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
    message MetricMetadata { MetricType type = 1; string metric_family_name = 2;
                             string help = 4; string unit = 5; }

Native histograms are not stored, so ``TimeSeries.histograms`` is declared as
``repeated bytes``: a length-delimited field reads the same either way, which lets the
receiver count (and refuse) histogram samples without modelling their 15 fields.

Two wire-compatible views serve the hot paths (``protobuf`` turns each message it hands
to Python into an object, which costs far more than the parsing itself):

- :data:`WriteRequestView` reads a ``TimeSeries`` with ``labels`` as ``repeated bytes``:
  each label pair comes back as the raw bytes of its ``Label`` message, so a series is
  keyed by a tuple of bytes and its :class:`~watchkeeper.core.labels.Labels` is decoded
  (with :data:`Label`) only the first time it is seen;
- the sender builds requests with the same view, filling ``labels`` with cached
  serialized ``Label`` messages.

The bytes on the wire are those of the messages above; nothing is parsed by hand.

The messages live in a private descriptor pool, so they never clash with another library
that registers ``prometheus.*`` in the default pool.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F: Any = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "prometheus"
_REPEATED = _F.LABEL_REPEATED
_OPTIONAL = _F.LABEL_OPTIONAL


def _field(
    name: str,
    number: int,
    kind: int,
    *,
    label: int = _OPTIONAL,
    type_name: str = "",
    package: str = _PACKAGE,
) -> Any:
    out = _F(name=name, number=number, type=kind, label=label)
    if type_name:
        out.type_name = f".{package}.{type_name}"
    return out


def _message(name: str, *fields: Any) -> Any:
    return descriptor_pb2.DescriptorProto(name=name, field=list(fields))


def _file() -> Any:
    metric_type = descriptor_pb2.EnumDescriptorProto(
        name="MetricType",
        value=[
            descriptor_pb2.EnumValueDescriptorProto(name=name, number=number)
            for number, name in enumerate(
                (
                    "UNKNOWN",
                    "COUNTER",
                    "GAUGE",
                    "HISTOGRAM",
                    "GAUGEHISTOGRAM",
                    "SUMMARY",
                    "INFO",
                    "STATESET",
                )
            )
        ],
    )
    metadata = _message(
        "MetricMetadata",
        _field("type", 1, _F.TYPE_ENUM, type_name="MetricMetadata.MetricType"),
        _field("metric_family_name", 2, _F.TYPE_STRING),
        _field("help", 4, _F.TYPE_STRING),
        _field("unit", 5, _F.TYPE_STRING),
    )
    metadata.enum_type.append(metric_type)
    write_request = _message(
        "WriteRequest",
        _field("timeseries", 1, _F.TYPE_MESSAGE, label=_REPEATED, type_name="TimeSeries"),
        _field("metadata", 3, _F.TYPE_MESSAGE, label=_REPEATED, type_name="MetricMetadata"),
    )
    write_request.reserved_range.append(
        descriptor_pb2.DescriptorProto.ReservedRange(start=2, end=3)
    )
    return descriptor_pb2.FileDescriptorProto(
        name="watchkeeper/remote/remote_write.proto",
        package=_PACKAGE,
        syntax="proto3",
        message_type=[
            write_request,
            metadata,
            _message(
                "Sample",
                _field("value", 1, _F.TYPE_DOUBLE),
                _field("timestamp", 2, _F.TYPE_INT64),
            ),
            _message(
                "Exemplar",
                _field("labels", 1, _F.TYPE_MESSAGE, label=_REPEATED, type_name="Label"),
                _field("value", 2, _F.TYPE_DOUBLE),
                _field("timestamp", 3, _F.TYPE_INT64),
            ),
            _message(
                "TimeSeries",
                _field("labels", 1, _F.TYPE_MESSAGE, label=_REPEATED, type_name="Label"),
                _field("samples", 2, _F.TYPE_MESSAGE, label=_REPEATED, type_name="Sample"),
                _field("exemplars", 3, _F.TYPE_MESSAGE, label=_REPEATED, type_name="Exemplar"),
                _field("histograms", 4, _F.TYPE_BYTES, label=_REPEATED),
            ),
            _message(
                "Label",
                _field("name", 1, _F.TYPE_STRING),
                _field("value", 2, _F.TYPE_STRING),
            ),
        ],
    )


_VIEW_PACKAGE = "watchkeeper.remote.view"


def _view_file() -> Any:
    view = _VIEW_PACKAGE
    return descriptor_pb2.FileDescriptorProto(
        name="watchkeeper/remote/remote_write_view.proto",
        package=view,
        syntax="proto3",
        dependency=["watchkeeper/remote/remote_write.proto"],
        message_type=[
            _message(
                "WriteRequestView",
                _field(
                    "timeseries",
                    1,
                    _F.TYPE_MESSAGE,
                    label=_REPEATED,
                    type_name="TimeSeriesView",
                    package=view,
                ),
            ),
            _message(
                "TimeSeriesView",
                _field("labels", 1, _F.TYPE_BYTES, label=_REPEATED),
                _field("samples", 2, _F.TYPE_MESSAGE, label=_REPEATED, type_name="Sample"),
                _field("exemplars", 3, _F.TYPE_BYTES, label=_REPEATED),
                _field("histograms", 4, _F.TYPE_BYTES, label=_REPEATED),
            ),
        ],
    )


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())
_POOL.Add(_view_file())


def _class(name: str, package: str = _PACKAGE) -> Any:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{package}.{name}"))


WriteRequest: Any = _class("WriteRequest")
TimeSeries: Any = _class("TimeSeries")
Label: Any = _class("Label")
Sample: Any = _class("Sample")
Exemplar: Any = _class("Exemplar")
MetricMetadata: Any = _class("MetricMetadata")
WriteRequestView: Any = _class("WriteRequestView", _VIEW_PACKAGE)
TimeSeriesView: Any = _class("TimeSeriesView", _VIEW_PACKAGE)

__all__ = [
    "Exemplar",
    "Label",
    "MetricMetadata",
    "Sample",
    "TimeSeries",
    "TimeSeriesView",
    "WriteRequest",
    "WriteRequestView",
]
