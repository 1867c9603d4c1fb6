"""Where file datasets may be read from: the data folder the server's operator configures
(the environment variable PLAYGROUND_DATA_DIR; by default `data/` in the repository) and the
folders the app saves uploads in. A spec names a path relative to the data folder, or an
absolute one inside an allowed folder; a path that resolves anywhere else (`..`, a symlink,
/etc/passwd) is refused before anything is opened, so a link or an upload can never make the
server read its own files."""
from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

from ..schema import clip
from . import DataError

ENV = "PLAYGROUND_DATA_DIR"
DEFAULT = Path(__file__).resolve().parents[2] / "data"
MAX_PATH = 1024                             # characters in data.path
UPLOAD_FOLDERS: set[Path] = set()          # registry of the folders the app writes uploads into


class OutsideDataFolder(DataError):
    """A path that resolves outside every allowed folder; the message says where files go."""


def data_folder() -> Path:
    """The operator's data folder, resolved (it need not exist yet)."""
    return Path(os.environ.get(ENV) or DEFAULT).expanduser().resolve()


def allow_uploads(folder: Path | str) -> None:
    """Let datasets be read from a folder the app itself saves uploads in."""
    UPLOAD_FOLDERS.add(Path(folder).resolve())


def resolve(path: str, field: str = "data.path") -> Path:
    """`path` (relative to the data folder, or absolute) as a resolved path inside an allowed
    folder; OutsideDataFolder otherwise. Nothing is opened or read here."""
    root = data_folder()
    if "\x00" in path or len(path) > MAX_PATH or any(len(os.fsencode(part)) > 255 for part in Path(path).parts):
        raise DataError(f"{field}: {clip(path)} is not a usable path (longer than the system allows, "
                        "or a null character); give a file name inside the data folder")
    try:
        p = Path(path).expanduser()
        p = (p if p.is_absolute() else root / p).resolve()
    except (OSError, RuntimeError) as e:           # ~user for no such user, a symlink loop
        raise DataError(f"{field}: {clip(path)} cannot be resolved ({type(e).__name__}); "
                        "give a plain path inside the data folder") from None
    if not any(p == r or r in p.parents for r in (root, *UPLOAD_FOLDERS)):
        raise OutsideDataFolder(f"{field}: {clip(path)} is outside the data folder; put the files in {root} "
                                f"(the server's operator sets it with {ENV}) and give a path inside it, "
                                "or upload the file")
    return p


@functools.cache
def _upload_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="playground-uploads-")).resolve()
    allow_uploads(folder)
    return folder


def save_upload(raw: bytes, suffix: str) -> Path:
    """An uploaded file's bytes in this server's uploads folder, named by their SHA-256: the same
    file gets the same path, and a session can name another session's upload only by knowing
    its whole content's hash."""
    path = _upload_folder() / f"upload-{hashlib.sha256(raw).hexdigest()}{suffix}"
    if not path.exists():
        path.write_bytes(raw)
    return path
