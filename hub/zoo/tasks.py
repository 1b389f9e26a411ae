"""Background job of the model zoo: validate a new version in the sandbox."""

from __future__ import annotations

from typing import Any

from hub.infra import jobs


@jobs.task("zoo_validate")
def validate(job_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Load the version's weights and architecture in the sandbox, run a forward pass,
    re-measure claimed metrics; see :mod:`hub.zoo.validation`."""
    from hub.zoo.validation import validate_version

    return validate_version(int(payload["version_id"]), job_id)
