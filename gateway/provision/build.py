"""The firmware build provisioning copies: a ``hallvote firmware build`` folder and its manifest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError

__all__ = ["Build", "load_build"]


@dataclass(frozen=True)
class Build:
    root: Path
    version: str
    files: tuple[tuple[str, str], ...]  # (path relative to the keypad's root, SHA-256 hex), manifest last
    test_channel: bool = False  # built with --test-channel: for a test bench, never a hall

    def data(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()


def load_build(folder: str | Path) -> Build:
    """A verified build: every file present and matching ``manifest.json``; else BuildError."""
    from gateway.firmware_image import build as fb

    root = Path(folder)
    if not (root / fb.MANIFEST).is_file():
        raise BuildError(
            f"{root} 不是固件构建目录；请先运行 hallvote firmware build --out {root}",
            f"{root} is not a firmware build; run hallvote firmware build --out {root} first",
        )
    problems = fb.verify(root)
    if problems:
        raise BuildError(
            f"固件构建 {root} 与清单不符: {'; '.join(problems[:5])}",
            f"firmware build {root} does not match its manifest: {'; '.join(problems[:5])}",
        )
    manifest = fb.load_manifest(root)
    manifest_hash = hashlib.sha256((root / fb.MANIFEST).read_bytes()).hexdigest()
    files = tuple((f.path, f.sha256) for f in manifest.files) + ((fb.MANIFEST, manifest_hash),)
    return Build(root, manifest.firmware_version, files, manifest.test_channel)
