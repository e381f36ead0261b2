"""Device names like ``/job:worker/replica:0/task:1/device:GPU:0``: parse, merge, print."""

import dataclasses
import re

_PART = re.compile(r"^(job|replica|task|device|cpu|gpu|CPU|GPU)(?::(.*))?$")


@dataclasses.dataclass(frozen=True)
class DeviceSpec:
    """A possibly partial device name; unset fields are None.

    >>> DeviceSpec.parse("/job:worker/task:1/gpu:0").to_string()
    '/job:worker/task:1/device:GPU:0'
    """

    job: str | None = None
    replica: int | None = None
    task: int | None = None
    device_type: str | None = None
    device_index: int | None = None

    @classmethod
    def parse(cls, spec):
        """Parse a device string (``""`` or None is the empty spec); ValueError names what is malformed."""
        if spec is None or spec == "":
            return cls()
        if isinstance(spec, DeviceSpec):
            return spec
        if not isinstance(spec, str):
            raise ValueError(f"device must be a string, got {type(spec).__name__}")
        fields = {}
        for part in spec.strip().strip("/").split("/"):
            if not part:
                continue
            m = _PART.match(part)
            if not m:
                # Bare "CPU:0" / "GPU:1" forms are accepted like TF does.
                m2 = re.match(r"^(CPU|GPU|cpu|gpu):(\d+|\*)$", part)
                if not m2:
                    raise ValueError(f"malformed device string {spec!r}: cannot parse {part!r}")
                fields["device_type"], idx = m2.group(1).upper(), m2.group(2)
                fields["device_index"] = None if idx == "*" else int(idx)
                continue
            key, value = m.group(1), m.group(2)
            try:
                if key == "job":
                    if not value:
                        raise ValueError
                    fields["job"] = value
                elif key in ("replica", "task"):
                    fields[key] = int(value)
                    if fields[key] < 0:
                        raise ValueError
                elif key == "device":
                    dtype, _, idx = (value or "").partition(":")
                    if dtype.upper() not in ("CPU", "GPU"):
                        raise ValueError
                    fields["device_type"] = dtype.upper()
                    fields["device_index"] = None if idx in ("", "*") else int(idx)
                else:  # /cpu:0, /gpu:1
                    fields["device_type"] = key.upper()
                    fields["device_index"] = None if value in (None, "", "*") else int(value)
            except (TypeError, ValueError):
                raise ValueError(f"malformed device string {spec!r}: bad field {part!r}") from None
        return cls(**fields)

    def merged_with(self, other):
        """This spec with its unset fields taken from ``other`` (``other`` may be a string)."""
        other = DeviceSpec.parse(other)
        return DeviceSpec(*(a if a is not None else b for a, b in zip(dataclasses.astuple(self),
                                                                      dataclasses.astuple(other))))

    def to_string(self):
        """The canonical string; empty for the empty spec."""
        out = []
        if self.job is not None:
            out.append(f"/job:{self.job}")
        if self.replica is not None:
            out.append(f"/replica:{self.replica}")
        if self.task is not None:
            out.append(f"/task:{self.task}")
        if self.device_type is not None:
            idx = "*" if self.device_index is None else self.device_index
            out.append(f"/device:{self.device_type}:{idx}")
        return "".join(out)

    @property
    def task_key(self):
        """``(job, task)``, which names the process this device lives on."""
        return (self.job, self.task)

    def __str__(self):
        return self.to_string()


def canonical(spec):
    """Canonical string of a device string (``""`` stays ``""``)."""
    return DeviceSpec.parse(spec).to_string()


def merge(inner, outer):
    """Device of a nested ``tf.device(inner)`` scope inside ``tf.device(outer)``: inner wins field by field."""
    return DeviceSpec.parse(inner).merged_with(outer).to_string()
