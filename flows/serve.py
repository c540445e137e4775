"""Scheduled campaigns: the deployments declared in flows/prefect.yaml, served by this process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from conditioning.errors import DefectforgeError

PREFECT_YAML = Path(__file__).with_name("prefect.yaml")


def read_deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The `deployments:` entries of a prefect.yaml (name, parameters, schedules, tags...)."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise DefectforgeError(f"{path}: cannot read deployments: {error}") from None
    specs = document.get("deployments") or []
    for index, spec in enumerate(specs):
        if not spec.get("name"):
            raise DefectforgeError(f"{path}: deployments[{index}].name: missing; give each a name")
        for schedule in spec.get("schedules") or []:
            if "cron" not in schedule:
                raise DefectforgeError(
                    f"{path}: deployments[{index}].schedules: {schedule!r} has no `cron`; "
                    "write e.g. {cron: '0 2 * * *', timezone: UTC}"
                )
    return specs


def build_deployments(path: Path = PREFECT_YAML, names: list[str] | None = None) -> list[Any]:
    """RunnerDeployments of the campaign flow, one per selected prefect.yaml entry."""
    from prefect.schedules import Cron

    from flows.campaign import campaign

    specs = read_deployment_specs(path)
    known = [spec["name"] for spec in specs]
    unknown = sorted(set(names or []) - set(known))
    if unknown:
        raise DefectforgeError(f"{path}: no deployment named {unknown}; declared: {known}")
    deployments = []
    for spec in specs:
        if names and spec["name"] not in names:
            continue
        schedules = [
            Cron(
                item["cron"], timezone=item.get("timezone", "UTC"), active=item.get("active", True)
            )
            for item in spec.get("schedules") or []
        ]
        deployments.append(
            campaign.to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                tags=spec.get("tags"),
                parameters=spec.get("parameters") or {},
                schedules=schedules,
            )
        )
    return deployments


def serve_deployments(
    path: Path = PREFECT_YAML, names: list[str] | None = None, limit: int | None = None
) -> None:
    """Register the deployments with their cron schedules and run their flow runs until stopped."""
    from prefect import serve

    serve(*build_deployments(path, names), limit=limit)
