"""Send claims: who may send an outbox row right now. Pure rules over a claim's owner and lease.

A sender takes the rows of one message (owner + lease) before sending them, so two processes on
one database never send the same row; a claim whose lease ran out, or whose owner process on this
machine is gone, may be taken by another sender.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence


def claim_owner() -> str:
    """A sender's name in claims: this machine, this process, and a random part (two dispatchers
    in one process are two owners)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def owner_gone(owner: str | None) -> bool:
    """Whether a claim's owner is certainly dead: a process of THIS machine that no longer exists.
    An owner on another machine, or one whose pid exists, counts as alive (its lease decides)."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:          # EPERM: it exists, under another user
        return False
    return False


def claim_live(owner: str | None, until: str | None, now: str) -> bool:
    """A claim that still holds: its lease has not run out and its owner may be alive."""
    return until is not None and until > now and not owner_gone(owner)


def claimable(rows: Sequence[tuple[str, str, str | None, str | None]], owner: str, now: str) -> bool:
    """Whether ``owner`` may take these outbox rows ((state, next_attempt, claim_owner, claim_until),
    times as store text) at ``now``: each is pending and due, and none is held by another live sender."""
    return not any(state != "pending" or next_attempt > now
                   or (until is not None and claimant != owner and claim_live(claimant, until, now))
                   for state, next_attempt, claimant, until in rows)


def pause_until(value: str | None) -> float:
    """A stored pause of all sending (epoch seconds as text) -> epoch seconds; 0 when none or unreadable."""
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0
