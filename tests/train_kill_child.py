"""Test helper of tests/test_train_kill_resume.py: runs `main.py` command lines in forked
children, each of which may SIGKILL itself at a chosen atomic write.

Why a fork server: importing torch and the trainer costs seconds on a 2-core machine; paid once
here, twenty killed runs then cost their training only. Each child runs app.cli.main(argv)
exactly as `python main.py ARGV` would, in a process of its own.

Protocol, one line each way:
  stdin:  JSON {"argv": [...], "kill": null or {"file": NAME or "*", "nth": N, "when": "before" or "after"}}
          ("kill": the child SIGKILLs itself at the N-th os.replace onto a file named NAME, i.e.
          the N-th atomic write of engine.io_utils, before the rename or just after it)
  stdout: "ready" once; per command "pid P", then "step" as each training step begins (written
          by the child, so the test can SIGKILL it at a random moment in training), then
          "exit RC" (RC = -9 when it was SIGKILLed).
Anything the command itself prints goes to stderr.
"""
from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import app.cli  # noqa: E402
import engine.train.gan as gan  # noqa: E402


def _say(fd: int, text: str) -> None:
    os.write(fd, (text + "\n").encode())


def _install_kill(kill: dict) -> None:
    """Make the N-th os.replace onto kill['file'] end this process with SIGKILL."""
    real_replace, seen = os.replace, [0]

    def replace(src, dst, *args, **kwargs):
        hit = kill["file"] in ("*", Path(dst).name)
        if hit:
            seen[0] += 1
        fire = hit and seen[0] == kill["nth"]
        if fire and kill["when"] == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst, *args, **kwargs)
        if fire:
            os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace


def _announce_steps(proto: int) -> None:
    real_step = gan.gan_step

    def gan_step(*args, **kwargs):
        _say(proto, "step")
        return real_step(*args, **kwargs)

    gan.gan_step = gan_step


def _child(proto: int, request: dict) -> int:
    if request.get("kill"):
        _install_kill(request["kill"])
    _announce_steps(proto)
    return app.cli.main(request["argv"])


def main() -> None:
    torch.set_num_threads(1)  # no thread pool in the parent of forks
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # Adam's first use imports torch._dynamo
    proto = os.dup(1)
    os.dup2(2, 1)  # the commands' own output goes to stderr
    _say(proto, "ready")
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                rc = _child(proto, request)
            except BaseException:  # noqa: BLE001 - report any failure as the child's exit status
                import traceback
                traceback.print_exc()
                rc = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(rc if isinstance(rc, int) else 1)
        _say(proto, f"pid {pid}")
        _, status = os.waitpid(pid, 0)
        _say(proto, f"exit {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    main()
