from protos import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ContainerLaunch(_message.Message):
    __slots__ = ("container_id", "app_id", "container_token", "command", "env", "resource", "port", "gpu_indices", "localize")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    GPU_INDICES_FIELD_NUMBER: _ClassVar[int]
    LOCALIZE_FIELD_NUMBER: _ClassVar[int]
    container_id: str
    app_id: str
    container_token: str
    command: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    resource: _common_pb2.Resource
    port: int
    gpu_indices: _containers.RepeatedScalarFieldContainer[int]
    localize: bool
    def __init__(self, container_id: _Optional[str] = ..., app_id: _Optional[str] = ..., container_token: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., port: _Optional[int] = ..., gpu_indices: _Optional[_Iterable[int]] = ..., localize: _Optional[bool] = ...) -> None: ...

class StartContainersRequest(_message.Message):
    __slots__ = ("containers",)
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    containers: _containers.RepeatedCompositeFieldContainer[ContainerLaunch]
    def __init__(self, containers: _Optional[_Iterable[_Union[ContainerLaunch, _Mapping]]] = ...) -> None: ...

class StartContainersResponse(_message.Message):
    __slots__ = ("started", "failed")
    class FailedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STARTED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    started: _containers.RepeatedScalarFieldContainer[str]
    failed: _containers.ScalarMap[str, str]
    def __init__(self, started: _Optional[_Iterable[str]] = ..., failed: _Optional[_Mapping[str, str]] = ...) -> None: ...

class StopContainersRequest(_message.Message):
    __slots__ = ("container_ids", "app_id")
    CONTAINER_IDS_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    container_ids: _containers.RepeatedScalarFieldContainer[str]
    app_id: str
    def __init__(self, container_ids: _Optional[_Iterable[str]] = ..., app_id: _Optional[str] = ...) -> None: ...

class StopContainersResponse(_message.Message):
    __slots__ = ("stopped",)
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    stopped: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stopped: _Optional[_Iterable[str]] = ...) -> None: ...

class GetContainerStatusesRequest(_message.Message):
    __slots__ = ("container_ids", "app_id")
    CONTAINER_IDS_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    container_ids: _containers.RepeatedScalarFieldContainer[str]
    app_id: str
    def __init__(self, container_ids: _Optional[_Iterable[str]] = ..., app_id: _Optional[str] = ...) -> None: ...

class GetContainerStatusesResponse(_message.Message):
    __slots__ = ("statuses",)
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedCompositeFieldContainer[_common_pb2.ContainerStatus]
    def __init__(self, statuses: _Optional[_Iterable[_Union[_common_pb2.ContainerStatus, _Mapping]]] = ...) -> None: ...

class ReadLogRequest(_message.Message):
    __slots__ = ("container_id", "app_id", "stream", "offset", "follow")
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    container_id: str
    app_id: str
    stream: str
    offset: int
    follow: bool
    def __init__(self, container_id: _Optional[str] = ..., app_id: _Optional[str] = ..., stream: _Optional[str] = ..., offset: _Optional[int] = ..., follow: _Optional[bool] = ...) -> None: ...

class LogChunk(_message.Message):
    __slots__ = ("data", "offset", "eof")
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    EOF_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset: int
    eof: bool
    def __init__(self, data: _Optional[bytes] = ..., offset: _Optional[int] = ..., eof: _Optional[bool] = ...) -> None: ...
