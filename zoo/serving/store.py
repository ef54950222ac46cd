"""The model store: every servable version under a directory, kept current while serving."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from zoo.export import versions
from zoo.serving.predictor import Predictor

log = logging.getLogger("zoo.serve")



VERSION_POLICIES = ("latest", "all")


class ModelStore:
    """The servable versions under a directory, kept current by ``refresh``.

    ``root`` holds model directories (``root/<name>/<version>/``) or is one itself.
    ``version_policy`` is TF Serving's: ``"latest"`` serves each model's highest version
    that loads, ``"all"`` every one that loads. A version that fails to load is logged
    and skipped (under ``"latest"`` the next lower one is served instead), and tried
    again only when one of its files changes; a model directory without versions is
    logged once and skipped; dot-prefixed directories (exports in progress) are never
    looked at.
    """

    def __init__(self, root, version_policy: str = "latest"):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root} is not a directory")
        if version_policy not in VERSION_POLICIES:
            raise ValueError(f"version_policy={version_policy!r}; expected one of "
                             f"{', '.join(VERSION_POLICIES)}")
        self.version_policy = version_policy
        self._models: dict[str, dict[int, Predictor]] = {}
        self._broken: dict[tuple[str, int], tuple[list, str]] = {}
        self._empty: set[str] = set()  # model directories without versions, logged once
        self._lock = threading.Lock()

    def refresh(self):
        """Load versions that appeared, forget those that went."""
        with self._lock:
            models, broken, empty = {}, {}, set()
            for name, model_dir in self._model_dirs().items():
                loaded = self._models.get(name, {})
                found = versions(model_dir)
                if not found:
                    empty.add(name)
                    if name not in self._empty:
                        log.warning("skipping %s: no version directories (1/, 2/, ...)",
                                    model_dir)
                for version in sorted(found, reverse=True):
                    if self.version_policy == "latest" and name in models:
                        break  # a higher version is served
                    path = model_dir / str(version)
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
            self._models, self._broken, self._empty = models, broken, empty

    def _model_dirs(self) -> dict[str, Path]:
        if versions(self.root):
            return {self.root.name: self.root}
        try:
            return {p.name: p for p in sorted(self.root.iterdir())
                    if p.is_dir() and not p.name.startswith(".")}
        except OSError as err:
            log.warning("cannot list %s: %s", self.root, err)
            return {}

    def get(self, name: str, version: str | None = None) -> Predictor:
        """The predictor for a model's version (default: its highest); ``LookupError`` if none."""
        loaded = self._models.get(name)
        if not loaded:
            known = ", ".join(sorted(self._models)) or "none"
            raise LookupError(f"model {name!r} is not being served (models: {known})")
        if version is None:
            return loaded[max(loaded)]
        if int(version) not in loaded:
            raise LookupError(f"model {name!r} has no servable version {version} (served: "
                              f"{', '.join(map(str, sorted(loaded)))}; version policy "
                              f"{self.version_policy})")
        return loaded[int(version)]

    def status(self, name: str, version: str | None = None) -> dict:
        """TF Serving's model status: every version, available or failed."""
        states = {v: ("AVAILABLE", "OK", "") for v in self._models.get(name, {})}
        states.update({v: ("END", "UNKNOWN", reason)
                       for (n, v), (_, reason) in self._broken.items() if n == name})
        if version is not None:
            states = {v: s for v, s in states.items() if v == int(version)}
        if not states:
            self.get(name, version)  # raises the LookupError that says what is there
        return {"model_version_status": [
            {"version": str(v), "state": state,
             "status": {"error_code": code, "error_message": message}}
            for v, (state, code, message) in sorted(states.items(), reverse=True)]}

    def metadata(self, name: str, version: str | None = None) -> dict:
        """TF Serving's model metadata: the signature definitions."""
        predictor = self.get(name, version)
        return {"model_spec": {"name": name, "signature_name": "",
                               "version": str(predictor.version)},
                "metadata": {"signature_def": {
                    "@type": "type.googleapis.com/tensorflow.serving.SignatureDefMap",
                    "signature_def": predictor.signature_defs}}}

    def start_polling(self, seconds: float):
        """Refresh every ``seconds`` in a daemon thread; returns a function that stops it."""
        stop = threading.Event()

        def poll():
            while not stop.wait(seconds):
                try:
                    self.refresh()
                except Exception:  # noqa: BLE001 - keep polling whatever happened
                    log.exception("refreshing %s failed", self.root)

        threading.Thread(target=poll, name="zoo-serve-poll", daemon=True).start()
        return stop.set


def _fingerprint(path: Path) -> list:
    """Names, sizes and times of a version's files: tells when a broken version changed."""
    try:
        return sorted((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
                      for p in path.rglob("*"))
    except OSError:  # removed while looking
        return []
