"""Which models a server serves, and which of their versions: ``ServedModel`` and
``read_model_config`` (TF Serving's ``--model_config_file``).

Without a config file the server serves every model directory under its root with one
version policy; with one, each model is named with its base path, its version policy
(``latest { num_versions }``, ``all {}``, ``specific { versions }``) and version labels,
in the text format of TF Serving's ``ModelServerConfig``, parsed with its own protos.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

VERSION_POLICIES = ("latest", "all", "specific")
SCANNED_POLICIES = ("latest", "all")  # a scanned directory names no specific versions


@dataclasses.dataclass(frozen=True)
class ServedModel:
    """One model to serve: its name, its directory of versions, which versions, their labels.

    ``policy`` ``"latest"`` serves the ``num_versions`` highest versions that load,
    ``"all"`` every one, ``"specific"`` those in ``versions``. ``labels`` name versions
    (``{"stable": 1, "canary": 2}``), as ``/labels/<label>`` in request paths.
    """

    name: str
    base_path: Path
    policy: str = "latest"
    num_versions: int = 1
    versions: tuple[int, ...] = ()
    labels: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.policy not in VERSION_POLICIES:
            raise ValueError(
                f"model {self.name!r}: version policy {self.policy!r}; expected "
                f"one of {', '.join(VERSION_POLICIES)}"
            )
        if self.num_versions < 1:
            raise ValueError(
                f"model {self.name!r}: latest {{ num_versions: "
                f"{self.num_versions} }} must be at least 1"
            )
        if self.policy == "specific" and not self.versions:
            raise ValueError(f"model {self.name!r}: a specific version policy needs versions")

    def wanted(self, found: list[int]) -> list[int]:
        """The versions worth loading among ``found``, highest first."""
        found = sorted(found, reverse=True)
        if self.policy == "specific":
            return [v for v in found if v in self.versions]
        return found  # "latest" stops once num_versions of them load


def read_model_config(path) -> list[ServedModel]:
    """The models of a ``ModelServerConfig`` text file (TF Serving's ``--model_config_file``).

    ``ValueError`` names the file and what is wrong: a parse error, a missing name or
    base path, a platform other than ``tensorflow``, a repeated name, or a label of a
    version that the policy does not serve.
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    path = Path(path)
    try:
        config = text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())
    except text_format.ParseError as err:
        raise ValueError(f"{path}: not a ModelServerConfig in text format: {err}") from None
    return models_of(config, str(path))


def models_of(config, where: str) -> list[ServedModel]:
    """The models of a ``ModelServerConfig`` message (``where`` names it in errors)."""
    if config.WhichOneof("config") != "model_config_list":
        raise ValueError(f"{where}: expected a model_config_list {{ config {{ ... }} }}")
    models = []
    for entry in config.model_config_list.config:
        which = f"{where}: model {entry.name!r}" if entry.name else f"{where}: a model"
        if not entry.name or not entry.base_path:
            raise ValueError(f"{which} needs both a name and a base_path")
        if entry.model_platform not in ("", "tensorflow"):
            raise ValueError(
                f"{which}: model_platform {entry.model_platform!r}; only 'tensorflow' is served"
            )
        policy = entry.model_version_policy
        kind = policy.WhichOneof("policy_choice") or "latest"
        model = ServedModel(
            name=entry.name,
            base_path=Path(entry.base_path),
            policy=kind,
            num_versions=(policy.latest.num_versions or 1) if kind == "latest" else 1,
            versions=tuple(policy.specific.versions) if kind == "specific" else (),
            labels=dict(entry.version_labels),
        )
        if kind == "specific":
            stray = sorted(set(model.labels.values()) - set(model.versions))
            if stray:
                raise ValueError(
                    f"{which}: version labels point at version(s) {stray}, "
                    f"which its specific policy does not serve"
                )
        models.append(model)
    names = [m.name for m in models]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{where}: model name(s) {repeated} appear more than once")
    if not models:
        raise ValueError(f"{where}: names no models")
    return models
