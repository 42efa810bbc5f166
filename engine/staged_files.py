"""A group of files that appears in a folder all together or not at all, under a name that no
concurrent writer can also take.

Why: an export is several files (depth, pose, labels, preview). Writing them one by one under a
name picked by "the first free number" lets two exporters pick the same name (check-then-act)
and lets a crash leave half a pair. Here, in FOLDER, for a group named STEM:

1. Reserve. A hidden folder `.STEM.<id>.new` is made with `owner.json` (pid, host, id) inside,
   then renamed to `.STEM.partial`. The rename fails when `.STEM.partial` exists (it is never
   empty), so exactly one writer holds STEM. It then checks that no file of STEM exists yet (a
   pair finished before it looked) and that no cleaner is working on STEM; else it lets go.
2. Stage. Every file is written into `.STEM.partial/` atomically and durably (io_utils).
3. Commit. `COMMIT` (the file names, in move order) is written durably, last.
4. Place. Each file is renamed into FOLDER, the last listed last (a reader that keys on that
   file never sees part of a group), and FOLDER is synced.
5. Release. `.STEM.partial` is renamed to a name of its own (`.STEM.<id>.gone`) and removed.
   Renaming before removing means nobody ever deletes inside a folder another writer may hold.

A crash leaves a hidden folder and nothing else, except between steps 3 and 5, where the group
is committed and `recover` finishes the moves. `recover` (run by every export before it
starts) looks at each leftover: one whose owner process is alive on this host, or that belongs
to another host (its processes cannot be checked from here), is left alone; a dead one is
claimed by renaming it to the cleaner's own `.gone` name (one cleaner wins), rolled forward
when it has `COMMIT`, and deleted. Ids of `.new`/`.gone` folders carry host and pid, so those
are judged by name. A pid reused by a new process only delays the cleaning; it never deletes
live work. Where a process cannot be checked (not POSIX), a leftover is treated as alive.
"""
from __future__ import annotations

import errno
import glob
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
from pathlib import Path

from engine.io_utils import atomic_write_bytes, fsync_dir

log = logging.getLogger(__name__)

OWNER = "owner.json"
COMMIT = "COMMIT"
PARTIAL = "partial"
_ENTRY = re.compile(r"^\.(?P<stem>.+?)\.(?:(?P<partial>partial)"
                    r"|(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{16}\.(?P<kind>new|gone))$")


def _host_tag() -> str:
    """A short, file-name-safe stand-in for this machine's name."""
    return hashlib.sha1(socket.gethostname().encode("utf-8")).hexdigest()[:8]


def _new_id() -> str:
    return f"{_host_tag()}-{os.getpid()}-{secrets.token_hex(8)}"


def process_alive(host: str, pid: int) -> bool:
    """False only when `pid` surely runs no more on this host (never guess "dead")."""
    if host != _host_tag() or pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, owned by someone else
        return True
    return True


class Staging:
    """A reserved group: write files into `path(name)`, then `commit`; `abandon` on failure."""

    def __init__(self, folder: Path, stem: str, owner_id: str) -> None:
        self.folder, self.stem, self._id = folder, stem, owner_id
        self.dir = folder / f".{stem}.{PARTIAL}"

    def path(self, name: str) -> Path:
        """Where to write `name` (the final name in the folder) while staging."""
        return self.dir / name

    def commit(self, names: list[str], durable: bool = True) -> list[Path]:
        """Mark the staged `names` complete, move them into place (the last one last), release.

        `durable=False` skips the flushes to the disk: the group is still all-or-nothing for
        other processes and after a kill, but not after a power cut (a dataset flushes in batches).
        """
        atomic_write_bytes(self.dir / COMMIT, _json_bytes(names), durable=durable)
        _place(self.dir, self.folder, names, durable)
        self._release()
        return [self.folder / n for n in names]

    def abandon(self) -> None:
        """Drop everything staged (the export failed before its commit)."""
        self._release()

    def _release(self) -> None:
        gone = self.folder / f".{self.stem}.{self._id}.gone"
        os.rename(self.dir, gone)
        shutil.rmtree(gone, ignore_errors=True)


def reserve(folder: str | Path, stem: str, final_names: list[str],
            durable: bool = True) -> Staging | None:
    """Hold `stem` in `folder` exclusively, or None when another writer or one of
    `final_names` has it (an empty list: replace what is there)."""
    folder = Path(folder)
    owner_id = _new_id()
    new = folder / f".{stem}.{owner_id}.new"
    os.mkdir(new)
    try:
        atomic_write_bytes(new / OWNER, _json_bytes({"id": owner_id, "pid": os.getpid(),
                                                     "host": socket.gethostname()}), durable=durable)
        os.rename(new, folder / f".{stem}.{PARTIAL}")
    except OSError as e:
        shutil.rmtree(new, ignore_errors=True)
        if e.errno in (errno.EEXIST, errno.ENOTEMPTY) or isinstance(e, FileExistsError):
            return None
        raise
    staging = Staging(folder, stem, owner_id)
    if any((folder / n).exists() for n in final_names) or _being_cleaned(folder, stem):
        staging.abandon()
        return None
    return staging


def _being_cleaned(folder: Path, stem: str) -> bool:
    # glob's C-level name filter, not a Path and a regex per entry: a dataset folder holds
    # thousands of files and this runs once per sample (it was 40% of a sample's I/O time).
    pattern = os.path.join(glob.escape(str(folder)), glob.escape(f".{stem}.") + "*.gone")
    return any((m := _ENTRY.match(os.path.basename(p))) and m["stem"] == stem and m["kind"] == "gone"
               for p in glob.iglob(pattern))


def staged_stems(folder: str | Path) -> set[str]:
    """Stems that have a staging folder (reserved, or being cleaned) in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        return set()
    return {m["stem"] for p in folder.iterdir() if (m := _ENTRY.match(p.name))}


def _json_bytes(obj: object) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode("utf-8")


def _place(staged: Path, folder: Path, names: list[str], durable: bool = True) -> None:
    """Rename the staged files that are still there into `folder` (again after a crash)."""
    for name in names:
        try:
            os.rename(staged / name, folder / name)
        except FileNotFoundError:
            pass  # moved before the crash
    if durable:
        fsync_dir(folder)


def _owner(entry: Path) -> tuple[str, int, str | None]:
    """(host tag, pid, id) of a `.partial` folder's owner; a broken owner file reads as dead."""
    try:
        owner = json.loads((entry / OWNER).read_text(encoding="utf-8"))
        m = _ENTRY.match(f".x.{owner['id']}.new")
        return m["host"], int(m["pid"]), owner["id"]
    except (OSError, ValueError, KeyError, TypeError):
        return _host_tag(), -1, None


def recover(folder: str | Path) -> list[str]:
    """Finish (commit present) or delete the groups whose writer died; returns their stems."""
    folder = Path(folder)
    done = []
    for stem, entry, owner_id in _dead_entries(folder):
        claimed = folder / f".{stem}.{_new_id()}.gone"
        try:
            os.rename(entry, claimed)
        except OSError:
            continue  # another cleaner took it first
        if owner_id is not None and _owner(claimed)[2] != owner_id:
            try:  # a new live writer took the name since we looked: give it back
                os.rename(claimed, entry)
            except OSError:
                log.warning("%s: could not give back a live export's staging folder", claimed)
            continue
        commit = claimed / COMMIT
        if commit.exists():
            _place(claimed, folder, json.loads(commit.read_text(encoding="utf-8")))
        shutil.rmtree(claimed, ignore_errors=True)
        done.append(stem)
    return done


def _dead_entries(folder: Path) -> list[tuple[str, Path, str | None]]:
    if not folder.is_dir():
        return []
    dead = []
    for entry in folder.iterdir():
        m = _ENTRY.match(entry.name)
        if m is None or not entry.is_dir():
            continue
        host, pid, owner_id = _owner(entry) if m["partial"] else (m["host"], int(m["pid"]), None)
        if pid < 0 or not process_alive(host, pid):
            dead.append((m["stem"], entry, owner_id))
    return dead
