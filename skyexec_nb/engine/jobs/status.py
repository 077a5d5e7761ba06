"""Job states: SkyPilot's job states, plus PROVISIONING before a SkyPilot job exists."""
from __future__ import annotations

import enum


class JobStatus(str, enum.Enum):
    """The state of a job, whatever backend runs it (values are SkyPilot's names)."""

    PROVISIONING = "PROVISIONING"
    INIT = "INIT"
    PENDING = "PENDING"
    SETTING_UP = "SETTING_UP"
    RUNNING = "RUNNING"
    RECOVERING = "RECOVERING"  # managed jobs: SkyPilot is recovering after preemption/failure
    CANCELLING = "CANCELLING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    FAILED_SETUP = "FAILED_SETUP"
    FAILED_PRECHECKS = "FAILED_PRECHECKS"
    FAILED_NO_RESOURCE = "FAILED_NO_RESOURCE"
    FAILED_CONTROLLER = "FAILED_CONTROLLER"
    FAILED_DRIVER = "FAILED_DRIVER"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        """True once the job can change no more."""
        return self in TERMINAL

    @property
    def is_failure(self) -> bool:
        """True for every FAILED* state."""
        return self.value.startswith("FAILED")

    def __str__(self) -> str:
        return self.value


TERMINAL = frozenset(
    {
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.FAILED_SETUP,
        JobStatus.FAILED_PRECHECKS,
        JobStatus.FAILED_NO_RESOURCE,
        JobStatus.FAILED_CONTROLLER,
        JobStatus.FAILED_DRIVER,
        JobStatus.CANCELLED,
    }
)

#: Colour per state, shared by every view (badge, jobs table, sweep grid).
STATUS_COLOURS: dict[JobStatus, str] = {
    JobStatus.PROVISIONING: "#6c757d",
    JobStatus.INIT: "#6c757d",
    JobStatus.PENDING: "#adb5bd",
    JobStatus.SETTING_UP: "#0dcaf0",
    JobStatus.RUNNING: "#0d6efd",
    JobStatus.RECOVERING: "#fd7e14",
    JobStatus.CANCELLING: "#ffc107",
    JobStatus.SUCCEEDED: "#198754",
    JobStatus.FAILED: "#dc3545",
    JobStatus.FAILED_SETUP: "#dc3545",
    JobStatus.FAILED_PRECHECKS: "#dc3545",
    JobStatus.FAILED_NO_RESOURCE: "#dc3545",
    JobStatus.FAILED_CONTROLLER: "#dc3545",
    JobStatus.FAILED_DRIVER: "#dc3545",
    JobStatus.CANCELLED: "#6f42c1",
}
