"""The result of ``launch(..., dryrun=True)``: what would run, where; nothing recorded or started."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from skyexec_nb.model.config import dump_yaml


@dataclass(frozen=True)
class Plan:
    """A dry run: the SkyPilot task config a launch would submit, and to which backend."""

    name: str
    backend: str
    cluster: str
    config: dict[str, Any]
    launch_options: dict[str, Any] = field(default_factory=dict)

    @property
    def yaml(self) -> str:
        """The task as SkyPilot YAML."""
        return dump_yaml(self.config)

    def _shown_yaml(self) -> str:
        """The YAML with secret env values masked (when the model's masking is available)."""
        try:
            from skyexec_nb.model.masking import mask_config
        except ImportError:  # pragma: no cover - model layer not there yet
            return self.yaml
        return dump_yaml(mask_config(self.config))

    def __repr__(self) -> str:
        return f"<Plan {self.name!r} {self.backend} cluster={self.cluster}>\n{self._shown_yaml()}"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        shown = self._shown_yaml()
        head = f"Dry run: {self.name!r} on {self.backend} (cluster {self.cluster}); nothing launched"
        return {
            "text/plain": f"{head}\n{shown}",
            "text/html": f"<b>{html.escape(head)}</b><pre>{html.escape(shown)}</pre>",
        }
