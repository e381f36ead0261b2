from protos import graph_pb2 as _graph_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NamedTensor(_message.Message):
    __slots__ = ("name", "tensor", "ref_key", "ref_address", "pushed", "routed")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    REF_KEY_FIELD_NUMBER: _ClassVar[int]
    REF_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PUSHED_FIELD_NUMBER: _ClassVar[int]
    ROUTED_FIELD_NUMBER: _ClassVar[int]
    name: str
    tensor: _graph_pb2.TensorProto
    ref_key: str
    ref_address: str
    pushed: bool
    routed: bool
    def __init__(self, name: _Optional[str] = ..., tensor: _Optional[_Union[_graph_pb2.TensorProto, _Mapping]] = ..., ref_key: _Optional[str] = ..., ref_address: _Optional[str] = ..., pushed: _Optional[bool] = ..., routed: _Optional[bool] = ...) -> None: ...

class FeedRoute(_message.Message):
    __slots__ = ("feed", "channel", "key", "begin", "size")
    FEED_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    BEGIN_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    feed: str
    channel: str
    key: str
    begin: _containers.RepeatedScalarFieldContainer[int]
    size: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, feed: _Optional[str] = ..., channel: _Optional[str] = ..., key: _Optional[str] = ..., begin: _Optional[_Iterable[int]] = ..., size: _Optional[_Iterable[int]] = ...) -> None: ...

class StepError(_message.Message):
    __slots__ = ("code", "message", "node_name", "op_type")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    OP_TYPE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    node_name: str
    op_type: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., node_name: _Optional[str] = ..., op_type: _Optional[str] = ...) -> None: ...

class RunOptions(_message.Message):
    __slots__ = ("timeout_ms",)
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    timeout_ms: int
    def __init__(self, timeout_ms: _Optional[int] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("graph_def", "graph_version", "transfer_dtype")
    GRAPH_DEF_FIELD_NUMBER: _ClassVar[int]
    GRAPH_VERSION_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_DTYPE_FIELD_NUMBER: _ClassVar[int]
    graph_def: _graph_pb2.GraphDef
    graph_version: int
    transfer_dtype: str
    def __init__(self, graph_def: _Optional[_Union[_graph_pb2.GraphDef, _Mapping]] = ..., graph_version: _Optional[int] = ..., transfer_dtype: _Optional[str] = ...) -> None: ...

class CreateSessionResponse(_message.Message):
    __slots__ = ("session_handle", "master_device", "channel_port")
    SESSION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    MASTER_DEVICE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_PORT_FIELD_NUMBER: _ClassVar[int]
    session_handle: str
    master_device: str
    channel_port: int
    def __init__(self, session_handle: _Optional[str] = ..., master_device: _Optional[str] = ..., channel_port: _Optional[int] = ...) -> None: ...

class ExtendSessionRequest(_message.Message):
    __slots__ = ("session_handle", "graph_def", "graph_version")
    SESSION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    GRAPH_DEF_FIELD_NUMBER: _ClassVar[int]
    GRAPH_VERSION_FIELD_NUMBER: _ClassVar[int]
    session_handle: str
    graph_def: _graph_pb2.GraphDef
    graph_version: int
    def __init__(self, session_handle: _Optional[str] = ..., graph_def: _Optional[_Union[_graph_pb2.GraphDef, _Mapping]] = ..., graph_version: _Optional[int] = ...) -> None: ...

class ExtendSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RunStepRequest(_message.Message):
    __slots__ = ("session_handle", "graph_version", "feed", "fetch", "target", "options", "step_id", "routes_id", "want_routes", "abandon")
    SESSION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    GRAPH_VERSION_FIELD_NUMBER: _ClassVar[int]
    FEED_FIELD_NUMBER: _ClassVar[int]
    FETCH_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTES_ID_FIELD_NUMBER: _ClassVar[int]
    WANT_ROUTES_FIELD_NUMBER: _ClassVar[int]
    ABANDON_FIELD_NUMBER: _ClassVar[int]
    session_handle: str
    graph_version: int
    feed: _containers.RepeatedCompositeFieldContainer[NamedTensor]
    fetch: _containers.RepeatedScalarFieldContainer[str]
    target: _containers.RepeatedScalarFieldContainer[str]
    options: RunOptions
    step_id: int
    routes_id: int
    want_routes: bool
    abandon: bool
    def __init__(self, session_handle: _Optional[str] = ..., graph_version: _Optional[int] = ..., feed: _Optional[_Iterable[_Union[NamedTensor, _Mapping]]] = ..., fetch: _Optional[_Iterable[str]] = ..., target: _Optional[_Iterable[str]] = ..., options: _Optional[_Union[RunOptions, _Mapping]] = ..., step_id: _Optional[int] = ..., routes_id: _Optional[int] = ..., want_routes: _Optional[bool] = ..., abandon: _Optional[bool] = ...) -> None: ...

class RunStepResponse(_message.Message):
    __slots__ = ("tensor", "error", "route", "routes_id", "stale_routes")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    ROUTES_ID_FIELD_NUMBER: _ClassVar[int]
    STALE_ROUTES_FIELD_NUMBER: _ClassVar[int]
    tensor: _containers.RepeatedCompositeFieldContainer[NamedTensor]
    error: StepError
    route: _containers.RepeatedCompositeFieldContainer[FeedRoute]
    routes_id: int
    stale_routes: bool
    def __init__(self, tensor: _Optional[_Iterable[_Union[NamedTensor, _Mapping]]] = ..., error: _Optional[_Union[StepError, _Mapping]] = ..., route: _Optional[_Iterable[_Union[FeedRoute, _Mapping]]] = ..., routes_id: _Optional[int] = ..., stale_routes: _Optional[bool] = ...) -> None: ...

class CloseSessionRequest(_message.Message):
    __slots__ = ("session_handle",)
    SESSION_HANDLE_FIELD_NUMBER: _ClassVar[int]
    session_handle: str
    def __init__(self, session_handle: _Optional[str] = ...) -> None: ...

class CloseSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PutTensorResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("task", "incarnation", "recv_tensor_count", "active_steps", "channel_port")
    TASK_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    RECV_TENSOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_STEPS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_PORT_FIELD_NUMBER: _ClassVar[int]
    task: str
    incarnation: int
    recv_tensor_count: int
    active_steps: int
    channel_port: int
    def __init__(self, task: _Optional[str] = ..., incarnation: _Optional[int] = ..., recv_tensor_count: _Optional[int] = ..., active_steps: _Optional[int] = ..., channel_port: _Optional[int] = ...) -> None: ...

class RegisterGraphRequest(_message.Message):
    __slots__ = ("graph_handle", "graph_def", "device")
    GRAPH_HANDLE_FIELD_NUMBER: _ClassVar[int]
    GRAPH_DEF_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    graph_handle: str
    graph_def: _graph_pb2.GraphDef
    device: str
    def __init__(self, graph_handle: _Optional[str] = ..., graph_def: _Optional[_Union[_graph_pb2.GraphDef, _Mapping]] = ..., device: _Optional[str] = ...) -> None: ...

class RegisterGraphResponse(_message.Message):
    __slots__ = ("error",)
    ERROR_FIELD_NUMBER: _ClassVar[int]
    error: StepError
    def __init__(self, error: _Optional[_Union[StepError, _Mapping]] = ...) -> None: ...

class RunGraphRequest(_message.Message):
    __slots__ = ("graph_handle", "step_id", "feed", "fetch", "target", "timeout_ms", "transfer_dtype")
    GRAPH_HANDLE_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    FEED_FIELD_NUMBER: _ClassVar[int]
    FETCH_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_DTYPE_FIELD_NUMBER: _ClassVar[int]
    graph_handle: str
    step_id: int
    feed: _containers.RepeatedCompositeFieldContainer[NamedTensor]
    fetch: _containers.RepeatedScalarFieldContainer[str]
    target: _containers.RepeatedScalarFieldContainer[str]
    timeout_ms: int
    transfer_dtype: str
    def __init__(self, graph_handle: _Optional[str] = ..., step_id: _Optional[int] = ..., feed: _Optional[_Iterable[_Union[NamedTensor, _Mapping]]] = ..., fetch: _Optional[_Iterable[str]] = ..., target: _Optional[_Iterable[str]] = ..., timeout_ms: _Optional[int] = ..., transfer_dtype: _Optional[str] = ...) -> None: ...

class RunGraphResponse(_message.Message):
    __slots__ = ("tensor", "error")
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    tensor: _containers.RepeatedCompositeFieldContainer[NamedTensor]
    error: StepError
    def __init__(self, tensor: _Optional[_Iterable[_Union[NamedTensor, _Mapping]]] = ..., error: _Optional[_Union[StepError, _Mapping]] = ...) -> None: ...

class TensorMeta(_message.Message):
    __slots__ = ("dtype", "shape", "nbytes", "key", "step_id", "lossy")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    NBYTES_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    LOSSY_FIELD_NUMBER: _ClassVar[int]
    dtype: _graph_pb2.DataType
    shape: _containers.RepeatedScalarFieldContainer[int]
    nbytes: int
    key: str
    step_id: int
    lossy: int
    def __init__(self, dtype: _Optional[_Union[_graph_pb2.DataType, str]] = ..., shape: _Optional[_Iterable[int]] = ..., nbytes: _Optional[int] = ..., key: _Optional[str] = ..., step_id: _Optional[int] = ..., lossy: _Optional[int] = ...) -> None: ...

class TensorChunk(_message.Message):
    __slots__ = ("meta", "data")
    META_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    meta: TensorMeta
    data: bytes
    def __init__(self, meta: _Optional[_Union[TensorMeta, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class RecvTensorRequest(_message.Message):
    __slots__ = ("step_id", "key", "timeout_ms")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    step_id: int
    key: str
    timeout_ms: int
    def __init__(self, step_id: _Optional[int] = ..., key: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class CleanupGraphRequest(_message.Message):
    __slots__ = ("graph_handle",)
    GRAPH_HANDLE_FIELD_NUMBER: _ClassVar[int]
    graph_handle: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, graph_handle: _Optional[_Iterable[str]] = ...) -> None: ...

class CleanupGraphResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AbortStepRequest(_message.Message):
    __slots__ = ("step_id", "error")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    step_id: int
    error: StepError
    def __init__(self, step_id: _Optional[int] = ..., error: _Optional[_Union[StepError, _Mapping]] = ...) -> None: ...

class AbortStepResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PushTensorResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ShutdownRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ShutdownResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
