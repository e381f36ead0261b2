"""What this machine has and how busy it is: vcores and memory via psutil, GPUs via NVML."""

import dataclasses
import logging
import threading

import psutil

log = logging.getLogger(__name__)

_nvml_lock = threading.Lock()
_nvml_state = {"tried": False, "ok": False}


def _nvml():
    """The pynvml module once initialised, or None when there is no NVML (said once, at info level)."""
    with _nvml_lock:
        if not _nvml_state["tried"]:
            _nvml_state["tried"] = True
            try:
                import pynvml
                pynvml.nvmlInit()
                _nvml_state["ok"] = True
            except Exception as exc:  # library missing, no driver, no device: all mean zero GPUs
                log.info("no NVML (%s): this node offers 0 GPUs", exc.__class__.__name__ + ": " + str(exc))
        if not _nvml_state["ok"]:
            return None
        import pynvml
        return pynvml


def gpu_count():
    """How many GPUs NVML sees (0 without NVML)."""
    nvml = _nvml()
    if nvml is None:
        return 0
    try:
        return int(nvml.nvmlDeviceGetCount())
    except Exception as exc:
        log.warning("NVML could not count GPUs: %s", exc)
        return 0


@dataclasses.dataclass(frozen=True)
class Capability:
    """What a node offers to containers."""

    vcores: int
    memory_mb: int
    gpus: int


def detect():
    """The machine's own vcores, memory (MB) and GPU count."""
    return Capability(vcores=psutil.cpu_count(logical=True) or 1,
                      memory_mb=int(psutil.virtual_memory().total // (1024 * 1024)),
                      gpus=gpu_count())


def offered(vcores=None, memory_mb=None, gpus=None, detected=None):
    """What to offer: the detected capability with each given override in its place.

    An override may exceed what was detected (a deliberate over-commit, as YARN's configured
    node resources allow, and how tests pack many small containers on a small machine); that is logged.
    """
    found = detected or detect()
    chosen = Capability(vcores=found.vcores if vcores is None else int(vcores),
                        memory_mb=found.memory_mb if memory_mb is None else int(memory_mb),
                        gpus=found.gpus if gpus is None else int(gpus))
    for name in ("vcores", "memory_mb", "gpus"):
        if getattr(chosen, name) < 0:
            raise ValueError(f"{name} must not be negative, got {getattr(chosen, name)}")
        if getattr(chosen, name) > getattr(found, name):
            log.info("offering %s=%s although %s were detected (override)",
                     name, getattr(chosen, name), getattr(found, name))
    return chosen


@dataclasses.dataclass(frozen=True)
class Usage:
    """One snapshot of the node's utilisation, for a heartbeat."""

    cpu_percent: float
    memory_used_mb: int
    memory_total_mb: int
    gpu_count: int
    gpu_memory_used_mb: int
    gpu_memory_total_mb: int
    gpu_utilization: float
    vcores_total: int


def _gpu_usage():
    """(count, memory used MB, memory total MB, mean utilisation %) over NVML's GPUs."""
    nvml = _nvml()
    if nvml is None:
        return 0, 0, 0, 0.0
    used = total = 0
    utils = []
    try:
        count = int(nvml.nvmlDeviceGetCount())
        for i in range(count):
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            mem = nvml.nvmlDeviceGetMemoryInfo(handle)
            used += int(mem.used) // (1024 * 1024)
            total += int(mem.total) // (1024 * 1024)
            utils.append(float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu))
    except Exception as exc:
        log.warning("NVML could not read GPU usage: %s", exc)
        return 0, 0, 0, 0.0
    return count, used, total, (sum(utils) / len(utils) if utils else 0.0)


def usage():
    """A snapshot of CPU %, memory and GPU use (CPU % is since the previous call; the first is 0)."""
    mem = psutil.virtual_memory()
    count, gpu_used, gpu_total, gpu_util = _gpu_usage()
    return Usage(cpu_percent=float(psutil.cpu_percent(interval=None)),
                 memory_used_mb=int((mem.total - mem.available) // (1024 * 1024)),
                 memory_total_mb=int(mem.total // (1024 * 1024)),
                 gpu_count=count, gpu_memory_used_mb=gpu_used, gpu_memory_total_mb=gpu_total,
                 gpu_utilization=gpu_util, vcores_total=psutil.cpu_count(logical=True) or 1)
