"""Private files and folders: what kgrec writes for one user is readable by that user alone."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (parents as usual) as a ``0700`` folder whatever the umask; an
    existing folder is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        return path
    os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask; chmod is not
    return path
