"""Resource detection: psutil numbers, NVML present (faked) or absent (said once), CLI overrides."""

import logging
import sys
import types

import pytest

from nodeagent import probe


@pytest.fixture
def fresh_nvml(monkeypatch):
    """Forget whether NVML was tried, so each test decides what ``import pynvml`` finds."""
    monkeypatch.setattr(probe, "_nvml_state", {"tried": False, "ok": False})


def _fake_pynvml(gpus):
    """A stand-in pynvml module with ``gpus`` = [(used_mb, total_mb, util%)]."""
    mod = types.ModuleType("pynvml")
    mod.nvmlInit = lambda: None
    mod.nvmlDeviceGetCount = lambda: len(gpus)
    mod.nvmlDeviceGetHandleByIndex = lambda i: i
    mod.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=gpus[h][0] << 20, total=gpus[h][1] << 20)
    mod.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=gpus[h][2])
    return mod


def test_no_nvml_means_zero_gpus_said_once_at_info(fresh_nvml, monkeypatch, caplog):
    failing = types.ModuleType("pynvml")

    def no_library():
        raise OSError("NVML Shared Library Not Found")
    failing.nvmlInit = no_library
    monkeypatch.setitem(sys.modules, "pynvml", failing)
    with caplog.at_level(logging.INFO, logger="nodeagent.probe"):
        assert probe.gpu_count() == 0
        assert probe.detect().gpus == 0
        u = probe.usage()
    assert (u.gpu_count, u.gpu_memory_total_mb, u.gpu_utilization) == (0, 0, 0.0)
    said = [r for r in caplog.records if "no NVML" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO


def test_gpu_usage_sums_memory_and_averages_utilisation(fresh_nvml, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_pynvml([(1000, 16000, 50.0), (3000, 16000, 100.0)]))
    u = probe.usage()
    assert (u.gpu_count, u.gpu_memory_used_mb, u.gpu_memory_total_mb, u.gpu_utilization) == (2, 4000, 32000, 75.0)
    assert probe.detect().gpus == 2


def test_detected_numbers_are_plausible_and_usage_is_a_snapshot():
    cap = probe.detect()
    assert cap.vcores >= 1 and cap.memory_mb > 0
    u = probe.usage()
    assert 0 <= u.cpu_percent <= 100 and 0 < u.memory_used_mb <= u.memory_total_mb
    assert u.vcores_total == cap.vcores


def test_overrides_replace_what_was_detected():
    found = probe.Capability(vcores=2, memory_mb=4096, gpus=0)
    assert probe.offered(detected=found) == found
    assert probe.offered(vcores=1, memory_mb=1024, detected=found) == probe.Capability(1, 1024, 0)
    assert probe.offered(vcores=8, gpus=2, detected=found) == probe.Capability(8, 4096, 2)
    with pytest.raises(ValueError, match="vcores must not be negative"):
        probe.offered(vcores=-1, detected=found)
