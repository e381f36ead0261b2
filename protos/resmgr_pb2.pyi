from protos import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterNodeRequest(_message.Message):
    __slots__ = ("node_id", "hostname", "capability", "port_range_start", "port_range_end", "containers")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    PORT_RANGE_START_FIELD_NUMBER: _ClassVar[int]
    PORT_RANGE_END_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    hostname: str
    capability: _common_pb2.Resource
    port_range_start: int
    port_range_end: int
    containers: _containers.RepeatedCompositeFieldContainer[_common_pb2.ContainerStatus]
    def __init__(self, node_id: _Optional[str] = ..., hostname: _Optional[str] = ..., capability: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., port_range_start: _Optional[int] = ..., port_range_end: _Optional[int] = ..., containers: _Optional[_Iterable[_Union[_common_pb2.ContainerStatus, _Mapping]]] = ...) -> None: ...

class RegisterNodeResponse(_message.Message):
    __slots__ = ("heartbeat_interval_ms",)
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    heartbeat_interval_ms: int
    def __init__(self, heartbeat_interval_ms: _Optional[int] = ...) -> None: ...

class NodeUsage(_message.Message):
    __slots__ = ("cpu_percent", "memory_used_mb", "memory_total_mb", "gpu_count", "gpu_memory_used_mb", "gpu_memory_total_mb", "gpu_utilization", "vcores_total")
    CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_MB_FIELD_NUMBER: _ClassVar[int]
    MEMORY_TOTAL_MB_FIELD_NUMBER: _ClassVar[int]
    GPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    GPU_MEMORY_USED_MB_FIELD_NUMBER: _ClassVar[int]
    GPU_MEMORY_TOTAL_MB_FIELD_NUMBER: _ClassVar[int]
    GPU_UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    VCORES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    cpu_percent: float
    memory_used_mb: int
    memory_total_mb: int
    gpu_count: int
    gpu_memory_used_mb: int
    gpu_memory_total_mb: int
    gpu_utilization: float
    vcores_total: int
    def __init__(self, cpu_percent: _Optional[float] = ..., memory_used_mb: _Optional[int] = ..., memory_total_mb: _Optional[int] = ..., gpu_count: _Optional[int] = ..., gpu_memory_used_mb: _Optional[int] = ..., gpu_memory_total_mb: _Optional[int] = ..., gpu_utilization: _Optional[float] = ..., vcores_total: _Optional[int] = ...) -> None: ...

class NodeHeartbeatRequest(_message.Message):
    __slots__ = ("node_id", "usage", "containers", "sequence")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    usage: NodeUsage
    containers: _containers.RepeatedCompositeFieldContainer[_common_pb2.ContainerStatus]
    sequence: int
    def __init__(self, node_id: _Optional[str] = ..., usage: _Optional[_Union[NodeUsage, _Mapping]] = ..., containers: _Optional[_Iterable[_Union[_common_pb2.ContainerStatus, _Mapping]]] = ..., sequence: _Optional[int] = ...) -> None: ...

class NodeHeartbeatResponse(_message.Message):
    __slots__ = ("reregister", "containers_to_kill", "apps_finished", "heartbeat_interval_ms")
    REREGISTER_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_TO_KILL_FIELD_NUMBER: _ClassVar[int]
    APPS_FINISHED_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    reregister: bool
    containers_to_kill: _containers.RepeatedScalarFieldContainer[str]
    apps_finished: _containers.RepeatedScalarFieldContainer[str]
    heartbeat_interval_ms: int
    def __init__(self, reregister: _Optional[bool] = ..., containers_to_kill: _Optional[_Iterable[str]] = ..., apps_finished: _Optional[_Iterable[str]] = ..., heartbeat_interval_ms: _Optional[int] = ...) -> None: ...

class FetchAppFilesRequest(_message.Message):
    __slots__ = ("app_id",)
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    def __init__(self, app_id: _Optional[str] = ...) -> None: ...

class StageFilesResponse(_message.Message):
    __slots__ = ("staging_id", "bytes", "files")
    STAGING_ID_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    staging_id: str
    bytes: int
    files: int
    def __init__(self, staging_id: _Optional[str] = ..., bytes: _Optional[int] = ..., files: _Optional[int] = ...) -> None: ...

class RoleSpec(_message.Message):
    __slots__ = ("name", "count", "resource", "max_attempts")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: int
    resource: _common_pb2.Resource
    max_attempts: int
    def __init__(self, name: _Optional[str] = ..., count: _Optional[int] = ..., resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., max_attempts: _Optional[int] = ...) -> None: ...

class ApplicationSpec(_message.Message):
    __slots__ = ("name", "queue", "entry", "args", "roles", "max_task_attempts", "am_resource", "env", "python")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    MAX_TASK_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    AM_RESOURCE_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    PYTHON_FIELD_NUMBER: _ClassVar[int]
    name: str
    queue: str
    entry: str
    args: _containers.RepeatedScalarFieldContainer[str]
    roles: _containers.RepeatedCompositeFieldContainer[RoleSpec]
    max_task_attempts: int
    am_resource: _common_pb2.Resource
    env: _containers.ScalarMap[str, str]
    python: str
    def __init__(self, name: _Optional[str] = ..., queue: _Optional[str] = ..., entry: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., roles: _Optional[_Iterable[_Union[RoleSpec, _Mapping]]] = ..., max_task_attempts: _Optional[int] = ..., am_resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., env: _Optional[_Mapping[str, str]] = ..., python: _Optional[str] = ...) -> None: ...

class SubmitApplicationRequest(_message.Message):
    __slots__ = ("staging_id", "spec")
    STAGING_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    staging_id: str
    spec: ApplicationSpec
    def __init__(self, staging_id: _Optional[str] = ..., spec: _Optional[_Union[ApplicationSpec, _Mapping]] = ...) -> None: ...

class SubmitApplicationResponse(_message.Message):
    __slots__ = ("app_id",)
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    def __init__(self, app_id: _Optional[str] = ...) -> None: ...

class GetApplicationReportRequest(_message.Message):
    __slots__ = ("app_id",)
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    def __init__(self, app_id: _Optional[str] = ...) -> None: ...

class ContainerReport(_message.Message):
    __slots__ = ("container_id", "node_id", "role", "task_index", "attempt", "status", "host", "port")
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    container_id: str
    node_id: str
    role: str
    task_index: int
    attempt: int
    status: _common_pb2.ContainerStatus
    host: str
    port: int
    def __init__(self, container_id: _Optional[str] = ..., node_id: _Optional[str] = ..., role: _Optional[str] = ..., task_index: _Optional[int] = ..., attempt: _Optional[int] = ..., status: _Optional[_Union[_common_pb2.ContainerStatus, _Mapping]] = ..., host: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class ApplicationReport(_message.Message):
    __slots__ = ("app_id", "name", "queue", "state", "final_status", "diagnostics", "submitted_at", "started_at", "finished_at", "am_host", "am_attempt", "containers", "spec", "tasks_running", "tasks_total")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FINAL_STATUS_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    AM_HOST_FIELD_NUMBER: _ClassVar[int]
    AM_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    TASKS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    TASKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    name: str
    queue: str
    state: _common_pb2.AppState
    final_status: _common_pb2.FinalStatus
    diagnostics: str
    submitted_at: float
    started_at: float
    finished_at: float
    am_host: str
    am_attempt: int
    containers: _containers.RepeatedCompositeFieldContainer[ContainerReport]
    spec: ApplicationSpec
    tasks_running: int
    tasks_total: int
    def __init__(self, app_id: _Optional[str] = ..., name: _Optional[str] = ..., queue: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.AppState, str]] = ..., final_status: _Optional[_Union[_common_pb2.FinalStatus, str]] = ..., diagnostics: _Optional[str] = ..., submitted_at: _Optional[float] = ..., started_at: _Optional[float] = ..., finished_at: _Optional[float] = ..., am_host: _Optional[str] = ..., am_attempt: _Optional[int] = ..., containers: _Optional[_Iterable[_Union[ContainerReport, _Mapping]]] = ..., spec: _Optional[_Union[ApplicationSpec, _Mapping]] = ..., tasks_running: _Optional[int] = ..., tasks_total: _Optional[int] = ...) -> None: ...

class ListApplicationsRequest(_message.Message):
    __slots__ = ("states",)
    STATES_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[_common_pb2.AppState]
    def __init__(self, states: _Optional[_Iterable[_Union[_common_pb2.AppState, str]]] = ...) -> None: ...

class ListApplicationsResponse(_message.Message):
    __slots__ = ("apps",)
    APPS_FIELD_NUMBER: _ClassVar[int]
    apps: _containers.RepeatedCompositeFieldContainer[ApplicationReport]
    def __init__(self, apps: _Optional[_Iterable[_Union[ApplicationReport, _Mapping]]] = ...) -> None: ...

class ListNodesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NodeReport(_message.Message):
    __slots__ = ("node_id", "hostname", "state", "capability", "used", "usage", "num_containers", "last_heartbeat")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    NUM_CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    hostname: str
    state: _common_pb2.NodeState
    capability: _common_pb2.Resource
    used: _common_pb2.Resource
    usage: NodeUsage
    num_containers: int
    last_heartbeat: float
    def __init__(self, node_id: _Optional[str] = ..., hostname: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.NodeState, str]] = ..., capability: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., used: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., usage: _Optional[_Union[NodeUsage, _Mapping]] = ..., num_containers: _Optional[int] = ..., last_heartbeat: _Optional[float] = ...) -> None: ...

class ListNodesResponse(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[NodeReport]
    def __init__(self, nodes: _Optional[_Iterable[_Union[NodeReport, _Mapping]]] = ...) -> None: ...

class KillApplicationRequest(_message.Message):
    __slots__ = ("app_id", "reason")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    reason: str
    def __init__(self, app_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class KillApplicationResponse(_message.Message):
    __slots__ = ("killed",)
    KILLED_FIELD_NUMBER: _ClassVar[int]
    killed: bool
    def __init__(self, killed: _Optional[bool] = ...) -> None: ...

class RegisterApplicationMasterRequest(_message.Message):
    __slots__ = ("app_id", "host")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    host: str
    def __init__(self, app_id: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...

class RegisterApplicationMasterResponse(_message.Message):
    __slots__ = ("spec", "max_capability", "attempt")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    MAX_CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    spec: ApplicationSpec
    max_capability: _common_pb2.Resource
    attempt: int
    def __init__(self, spec: _Optional[_Union[ApplicationSpec, _Mapping]] = ..., max_capability: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., attempt: _Optional[int] = ...) -> None: ...

class ContainerAsk(_message.Message):
    __slots__ = ("ask_id", "role", "task_index", "resource")
    ASK_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TASK_INDEX_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    ask_id: str
    role: str
    task_index: int
    resource: _common_pb2.Resource
    def __init__(self, ask_id: _Optional[str] = ..., role: _Optional[str] = ..., task_index: _Optional[int] = ..., resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ...) -> None: ...

class GangAsk(_message.Message):
    __slots__ = ("gang_id", "asks")
    GANG_ID_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    gang_id: str
    asks: _containers.RepeatedCompositeFieldContainer[ContainerAsk]
    def __init__(self, gang_id: _Optional[str] = ..., asks: _Optional[_Iterable[_Union[ContainerAsk, _Mapping]]] = ...) -> None: ...

class Allocation(_message.Message):
    __slots__ = ("ask_id", "container_id", "node_id", "host", "port", "resource", "container_token", "gpu_indices")
    ASK_ID_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    GPU_INDICES_FIELD_NUMBER: _ClassVar[int]
    ask_id: str
    container_id: str
    node_id: str
    host: str
    port: int
    resource: _common_pb2.Resource
    container_token: str
    gpu_indices: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, ask_id: _Optional[str] = ..., container_id: _Optional[str] = ..., node_id: _Optional[str] = ..., host: _Optional[str] = ..., port: _Optional[int] = ..., resource: _Optional[_Union[_common_pb2.Resource, _Mapping]] = ..., container_token: _Optional[str] = ..., gpu_indices: _Optional[_Iterable[int]] = ...) -> None: ...

class AllocateRequest(_message.Message):
    __slots__ = ("app_id", "gangs", "release", "wait_ms", "tasks_running", "tasks_total", "diagnostics")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    GANGS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    TASKS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    TASKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    gangs: _containers.RepeatedCompositeFieldContainer[GangAsk]
    release: _containers.RepeatedScalarFieldContainer[str]
    wait_ms: int
    tasks_running: int
    tasks_total: int
    diagnostics: str
    def __init__(self, app_id: _Optional[str] = ..., gangs: _Optional[_Iterable[_Union[GangAsk, _Mapping]]] = ..., release: _Optional[_Iterable[str]] = ..., wait_ms: _Optional[int] = ..., tasks_running: _Optional[int] = ..., tasks_total: _Optional[int] = ..., diagnostics: _Optional[str] = ...) -> None: ...

class AllocateResponse(_message.Message):
    __slots__ = ("allocations", "completed", "shutdown", "failed_gangs", "diagnostics")
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    SHUTDOWN_FIELD_NUMBER: _ClassVar[int]
    FAILED_GANGS_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    completed: _containers.RepeatedCompositeFieldContainer[_common_pb2.ContainerStatus]
    shutdown: bool
    failed_gangs: _containers.RepeatedScalarFieldContainer[str]
    diagnostics: str
    def __init__(self, allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ..., completed: _Optional[_Iterable[_Union[_common_pb2.ContainerStatus, _Mapping]]] = ..., shutdown: _Optional[bool] = ..., failed_gangs: _Optional[_Iterable[str]] = ..., diagnostics: _Optional[str] = ...) -> None: ...

class FinishApplicationMasterRequest(_message.Message):
    __slots__ = ("app_id", "final_status", "diagnostics")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    FINAL_STATUS_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSTICS_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    final_status: _common_pb2.FinalStatus
    diagnostics: str
    def __init__(self, app_id: _Optional[str] = ..., final_status: _Optional[_Union[_common_pb2.FinalStatus, str]] = ..., diagnostics: _Optional[str] = ...) -> None: ...

class FinishApplicationMasterResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
