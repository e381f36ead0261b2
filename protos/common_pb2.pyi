from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ContainerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTAINER_STATE_UNSPECIFIED: _ClassVar[ContainerState]
    CONTAINER_NEW: _ClassVar[ContainerState]
    CONTAINER_LOCALIZING: _ClassVar[ContainerState]
    CONTAINER_RUNNING: _ClassVar[ContainerState]
    CONTAINER_COMPLETE: _ClassVar[ContainerState]

class NodeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_STATE_UNSPECIFIED: _ClassVar[NodeState]
    NODE_RUNNING: _ClassVar[NodeState]
    NODE_LOST: _ClassVar[NodeState]
    NODE_DECOMMISSIONED: _ClassVar[NodeState]

class AppState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APP_STATE_UNSPECIFIED: _ClassVar[AppState]
    APP_SUBMITTED: _ClassVar[AppState]
    APP_ACCEPTED: _ClassVar[AppState]
    APP_RUNNING: _ClassVar[AppState]
    APP_FINISHED: _ClassVar[AppState]
    APP_FAILED: _ClassVar[AppState]
    APP_KILLED: _ClassVar[AppState]

class FinalStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINAL_STATUS_UNSPECIFIED: _ClassVar[FinalStatus]
    SUCCEEDED: _ClassVar[FinalStatus]
    FAILED: _ClassVar[FinalStatus]
    KILLED: _ClassVar[FinalStatus]
CONTAINER_STATE_UNSPECIFIED: ContainerState
CONTAINER_NEW: ContainerState
CONTAINER_LOCALIZING: ContainerState
CONTAINER_RUNNING: ContainerState
CONTAINER_COMPLETE: ContainerState
NODE_STATE_UNSPECIFIED: NodeState
NODE_RUNNING: NodeState
NODE_LOST: NodeState
NODE_DECOMMISSIONED: NodeState
APP_STATE_UNSPECIFIED: AppState
APP_SUBMITTED: AppState
APP_ACCEPTED: AppState
APP_RUNNING: AppState
APP_FINISHED: AppState
APP_FAILED: AppState
APP_KILLED: AppState
FINAL_STATUS_UNSPECIFIED: FinalStatus
SUCCEEDED: FinalStatus
FAILED: FinalStatus
KILLED: FinalStatus

class Resource(_message.Message):
    __slots__ = ("vcores", "memory_mb", "gpus")
    VCORES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    vcores: int
    memory_mb: int
    gpus: int
    def __init__(self, vcores: _Optional[int] = ..., memory_mb: _Optional[int] = ..., gpus: _Optional[int] = ...) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("path", "data", "executable", "last")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EXECUTABLE_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    path: str
    data: bytes
    executable: bool
    last: bool
    def __init__(self, path: _Optional[str] = ..., data: _Optional[bytes] = ..., executable: _Optional[bool] = ..., last: _Optional[bool] = ...) -> None: ...

class ContainerStatus(_message.Message):
    __slots__ = ("container_id", "app_id", "state", "exit_code", "diagnostics", "pid", "started_at", "finished_at")
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    container_id: str
    app_id: str
    state: ContainerState
    exit_code: int
    diagnostics: str
    pid: int
    started_at: float
    finished_at: float
    def __init__(self, container_id: _Optional[str] = ..., app_id: _Optional[str] = ..., state: _Optional[_Union[ContainerState, str]] = ..., exit_code: _Optional[int] = ..., diagnostics: _Optional[str] = ..., pid: _Optional[int] = ..., started_at: _Optional[float] = ..., finished_at: _Optional[float] = ...) -> None: ...
