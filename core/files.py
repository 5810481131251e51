"""Private files and folders: what kgrec writes for one user is readable by that user alone."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from kgrec.core.errors import ForeignOwner, KgrecError

DIR_MODE, FILE_MODE = 0o700, 0o600


def check_owner(path: Path, what: str = "folder", error: type[KgrecError] = ForeignOwner) -> None:
    """Refuse ``path`` (followed if a link) when another user owns it: kgrec keeps what it
    writes private to one user, and a folder of someone else's stays theirs even after a
    ``chmod`` (``root`` can read anything, so the owner is compared, not the access).

    Raises:
        ForeignOwner: (or ``error``) names the path, its owner and the fix.
    """
    try:
        uid = os.stat(path).st_uid
    except (FileNotFoundError, NotADirectoryError):
        return
    me = os.getuid()
    if uid != me:
        try:
            owner = f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
        except KeyError:
            owner = f"uid {uid}"
        raise error(
            f"{what} {path} belongs to {owner}, not to you (uid {me}); kgrec uses only "
            f"files of its own user: use one of your own, or have its owner hand it "
            f"over with `chown -R {me} {path}`"
        )


def private_dir(path: Path) -> Path:
    """Create ``path`` (parents as usual) as a ``0700`` folder whatever the umask; an
    existing folder is left as it is, unless another user owns it.

    Raises:
        ForeignOwner: ``path`` exists and belongs to another user.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        check_owner(path)
        return path
    os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask; chmod is not
    return path
