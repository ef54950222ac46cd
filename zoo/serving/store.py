"""The model store: every servable version under a directory, kept current while serving."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from zoo.layout import versions
from zoo.serving.config import SCANNED_POLICIES, ServedModel, read_model_config
from zoo.serving.predictor import Predictor

log = logging.getLogger("zoo.serve")


class ModelStore:
    """The servable versions of some models, kept current by ``refresh``.

    Either ``root`` holds model directories (``root/<name>/<version>/``) or is one
    itself, each served under ``version_policy`` (TF Serving's ``"latest"``: each
    model's highest version that loads; ``"all"``: every one that loads); or ``models``
    (``ServedModel``s) or a ``config_file`` (TF Serving's model config, read again
    when it changes) name each model's directory, policy and version labels. A version
    that fails to load is logged and skipped (under ``"latest"`` the next lower one is
    served instead), and tried again only when one of its files changes; a model
    directory without versions is logged once and skipped; dot-prefixed directories
    (exports in progress) are never looked at.
    """

    def __init__(
        self,
        root=None,
        version_policy: str = "latest",
        models: list[ServedModel] | None = None,
        config_file=None,
    ):
        if [root, models, config_file].count(None) != 2:
            raise ValueError(
                "give one of a directory to scan, a list of models or a model config file"
            )
        self.config_file, self._config_stamp = config_file, None
        if config_file is not None:
            self._config_stamp = _stamp(config_file)  # before reading: a later edit is re-read
            models = read_model_config(config_file)
        self.root = None if root is None else Path(root)
        if self.root is not None and not self.root.is_dir():
            raise FileNotFoundError(f"{self.root} is not a directory")
        if version_policy not in SCANNED_POLICIES:
            raise ValueError(
                f"version_policy={version_policy!r}; expected one of {', '.join(SCANNED_POLICIES)}"
            )
        self.version_policy = version_policy
        self._lock = threading.Lock()
        self._configured: dict[str, ServedModel] | None = None
        if models is not None:
            self._serve(models)
        self._served: dict[str, ServedModel] = {}
        self._models: dict[str, dict[int, Predictor]] = {}
        self._broken: dict[tuple[str, int], tuple[list, str]] = {}
        self._empty: set[str] = set()  # model directories without versions, logged once

    def refresh(self):
        """Load versions that appeared, forget those that went; with a model config file,
        read it again first where it changed (a bad one is logged and the last good one
        kept)."""
        if self.config_file is not None:
            self._read_config_if_changed()
        with self._lock:
            served = self._served_models()
            models, broken, empty = {}, {}, set()
            for name, model in served.items():
                loaded = self._models.get(name, {})
                found = versions(model.base_path)
                if not found:
                    empty.add(name)
                    if name not in self._empty:
                        log.warning(
                            "skipping %s: no version directories (1/, 2/, ...)", model.base_path
                        )
                for version in model.wanted(found):
                    if model.policy == "latest" and len(models.get(name, {})) >= model.num_versions:
                        break  # the highest ones are served
                    path = model.base_path / str(version)
                    if version in loaded:
                        models.setdefault(name, {})[version] = loaded[version]
                        continue
                    stamp = _fingerprint(path)
                    if self._broken.get((name, version), (None,))[0] == stamp:
                        broken[name, version] = self._broken[name, version]
                        continue
                    try:
                        models.setdefault(name, {})[version] = Predictor(path)
                        log.info("serving %s version %d from %s", name, version, path)
                    except Exception as err:  # noqa: BLE001 - any broken export is skipped
                        log.warning("skipping %s: %s", path, err)
                        broken[name, version] = (stamp, f"{type(err).__name__}: {err}")
            self._served, self._models, self._broken, self._empty = (served, models, broken, empty)

    def configure(self, models: list[ServedModel]) -> None:
        """Serve these models from now on (a reloaded model config), then refresh."""
        self._serve(models)
        self.refresh()

    def _serve(self, models: list[ServedModel]) -> None:
        with self._lock:
            self._configured = {m.name: m for m in models}

    def _read_config_if_changed(self) -> None:
        stamp = _stamp(self.config_file)
        if stamp == self._config_stamp:
            return
        self._config_stamp = stamp
        try:
            models = read_model_config(self.config_file)
        except (OSError, ValueError) as err:
            log.warning("keeping the models served; %s", err)
            return
        log.info("serving the models of %s as changed", self.config_file)
        self._serve(models)

    def _served_models(self) -> dict[str, ServedModel]:
        if self._configured is not None:
            return self._configured
        return {
            name: ServedModel(name, path, self.version_policy)
            for name, path in self._model_dirs().items()
        }

    def _model_dirs(self) -> dict[str, Path]:
        if versions(self.root):
            return {self.root.name: self.root}
        try:
            return {
                p.name: p
                for p in sorted(self.root.iterdir())
                if p.is_dir() and not p.name.startswith(".")
            }
        except OSError as err:
            log.warning("cannot list %s: %s", self.root, err)
            return {}

    @property
    def names(self) -> list[str]:
        """The models with a version being served."""
        return sorted(self._models)

    def resolve(self, name: str, version=None, label: str | None = None) -> int | None:
        """The version a request names: given, behind a ``label``, or None (the highest)."""
        if label is None:
            return None if version is None else int(version)
        model = self._served.get(name)
        if model is None or label not in model.labels:
            known = ", ".join(sorted(model.labels)) if model and model.labels else "none"
            raise LookupError(f"model {name!r} has no version label {label!r} (labels: {known})")
        return model.labels[label]

    def get(self, name: str, version=None, label: str | None = None) -> Predictor:
        """The predictor for a model's version (default: its highest), or the one a ``label``
        names; ``LookupError`` if none."""
        version = self.resolve(name, version, label)
        loaded = self._models.get(name)
        if not loaded:
            known = ", ".join(sorted(self._models)) or "none"
            raise LookupError(f"model {name!r} is not being served (models: {known})")
        if version is None:
            return loaded[max(loaded)]
        if int(version) not in loaded:
            raise LookupError(
                f"model {name!r} has no servable version {version} (served: "
                f"{', '.join(map(str, sorted(loaded)))}; version policy "
                f"{self._served[name].policy})"
            )
        return loaded[int(version)]

    def status(self, name: str, version=None, label: str | None = None) -> dict:
        """TF Serving's model status: every version, available or failed."""
        version = self.resolve(name, version, label)
        states = {v: ("AVAILABLE", "OK", "") for v in self._models.get(name, {})}
        states.update(
            {
                v: ("END", "UNKNOWN", reason)
                for (n, v), (_, reason) in self._broken.items()
                if n == name
            }
        )
        if version is not None:
            states = {v: s for v, s in states.items() if v == int(version)}
        if not states:
            self.get(name, version)  # raises the LookupError that says what is there
        return {
            "model_version_status": [
                {
                    "version": str(v),
                    "state": state,
                    "status": {"error_code": code, "error_message": message},
                }
                for v, (state, code, message) in sorted(states.items(), reverse=True)
            ]
        }

    def metadata(self, name: str, version=None, label: str | None = None) -> dict:
        """TF Serving's model metadata: the signature definitions."""
        predictor = self.get(name, version, label)
        return {
            "model_spec": {"name": name, "signature_name": "", "version": str(predictor.version)},
            "metadata": {
                "signature_def": {
                    "@type": "type.googleapis.com/tensorflow.serving.SignatureDefMap",
                    "signature_def": predictor.signature_defs,
                }
            },
        }

    def start_polling(self, seconds: float):
        """Refresh every ``seconds`` in a daemon thread; returns a function that stops it."""
        stop = threading.Event()

        def poll():
            while not stop.wait(seconds):
                try:
                    self.refresh()
                except Exception:  # noqa: BLE001 - keep polling whatever happened
                    log.exception("refreshing %s failed", self.root or "the configured models")

        threading.Thread(target=poll, name="zoo-serve-poll", daemon=True).start()
        return stop.set


def _stamp(path):
    """When and how big a file last was (None when it is gone)."""
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _fingerprint(path: Path) -> list:
    """Names, sizes and times of a version's files: tells when a broken version changed."""
    try:
        return sorted(
            (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in path.rglob("*")
        )
    except OSError:  # removed while looking
        return []
