"""The system description of a bundle: auto-detected facts plus the vendor's own fields.

Vendor fields use MLPerf's names and come from a YAML file (``--system-yaml``)::

    submitter: Example Chips Inc.
    system_name: ExampleBox 8
    accelerator_model_name: Example X1
    accelerators_per_node: 8
    accelerator_memory_capacity: 64 GB
    host_processor_model_name: AMD EPYC 9654
    framework: Skiff 0.1.0 + skiff-backend-example 1.2
    operating_system: Ubuntu 24.04
    status: preview            # available, preview or research
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import numpy as np

VENDOR_FIELDS = {
    "submitter": str,
    "system_name": str,
    "status": str,
    "accelerator_model_name": str,
    "accelerators_per_node": int,
    "accelerator_memory_capacity": str,
    "host_processor_model_name": str,
    "host_processors_per_node": int,
    "host_memory_capacity": str,
    "framework": str,
    "other_software_stack": str,
    "operating_system": str,
    "notes": str,
}
STATUSES = ("available", "preview", "research")


class SystemDescriptionError(ValueError):
    """The vendor's system YAML is unusable; the message says why."""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _physical_cores() -> int | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            pairs = set()
            phys = core = None
            for line in f:
                if line.startswith("physical id"):
                    phys = line.split(":", 1)[1].strip()
                elif line.startswith("core id"):
                    core = line.split(":", 1)[1].strip()
                elif not line.strip() and core is not None:
                    pairs.add((phys, core))
                    phys = core = None
            if core is not None:
                pairs.add((phys, core))
            return len(pairs) or None
    except OSError:
        return None


def _memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _blas() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # the bench extra is not installed
        return []
    return [
        {k: info.get(k) for k in ("internal_api", "prefix", "version", "num_threads",
                                  "threading_layer", "architecture")}
        for info in threadpool_info()
    ]


def detect(backend: Any) -> dict[str, Any]:
    """Facts about this machine and software stack, for ``system.json``'s ``detected``."""
    import framework

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "cpu_model": _cpu_model(),
        "cpu_logical_cores": os.cpu_count(),
        "cpu_physical_cores": _physical_cores(),
        "cpu_usable_cores": affinity,
        "machine": platform.machine(),
        "memory_bytes": _memory_bytes(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "blas": _blas(),
        "framework_version": framework.__version__,
        "backend": {"name": backend.name, "version": str(getattr(backend, "version", "")),
                    "device": str(getattr(backend, "device", "") or "")},
    }


def load_vendor_yaml(path: str) -> dict[str, Any]:
    """Read and check the vendor's system fields (unknown keys and bad types are errors)."""
    try:
        import yaml
    except ImportError as err:  # pragma: no cover - the bench extra brings PyYAML
        raise SystemDescriptionError("reading --system-yaml needs PyYAML (the bench extra)"
                                     ) from err
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as err:
        raise SystemDescriptionError(f"cannot read {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise SystemDescriptionError(f"{path} is not valid YAML: {err}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SystemDescriptionError(f"{path} must hold a mapping of MLPerf system fields")
    return check_vendor_fields(data, path)


def check_vendor_fields(data: dict[str, Any], where: str = "system fields") -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        if key not in VENDOR_FIELDS:
            raise SystemDescriptionError(
                f"{where}: unknown field {key!r}; allowed: {', '.join(VENDOR_FIELDS)}")
        want = VENDOR_FIELDS[key]
        if want is int and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise SystemDescriptionError(f"{where}: {key} must be a non-negative integer")
        if want is str:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or len(value) > 500:
                raise SystemDescriptionError(f"{where}: {key} must be text (at most 500 "
                                             "characters)")
        out[key] = value
    if "status" in out and out["status"] not in STATUSES:
        raise SystemDescriptionError(
            f"{where}: status must be one of {', '.join(STATUSES)}, got {out['status']!r}")
    return out


def describe(backend: Any, vendor: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full ``system.json`` document: MLPerf fields (vendor's, else detected defaults)."""
    det = detect(backend)
    import framework

    defaults = {
        "submitter": "unspecified",
        "system_name": f"{det['cpu_model']} ({backend.name} backend)",
        "status": "available",
        "accelerator_model_name": str(getattr(backend, "device", "") or "") or "none (CPU)",
        "accelerators_per_node": 0,
        "accelerator_memory_capacity": "",
        "host_processor_model_name": det["cpu_model"],
        "host_processors_per_node": 1,
        "host_memory_capacity": (f"{det['memory_bytes'] / 2**30:.1f} GiB"
                                 if det["memory_bytes"] else ""),
        "framework": f"Skiff {framework.__version__}, backend {backend.name} "
                     f"{getattr(backend, 'version', '')}".strip(),
        "other_software_stack": f"Python {det['python']}, NumPy {det['numpy']}",
        "operating_system": det["os"],
        "notes": "",
    }
    fields = {**defaults, **(vendor or {})}
    return {**fields, "detected": det}
