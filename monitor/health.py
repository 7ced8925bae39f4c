"""Source health: when a source counts as failing, and when it has recovered. Pure rules.

A source whose polls fail ``threshold`` times in a row is "failing": one health message goes out,
and no other until a poll succeeds again, which sends one "recovered" message. Failures below the
threshold followed by a success send nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from monitor.records import PollRecord


@dataclass(frozen=True)
class HealthState:
    """What a source's health rules remember between polls (timestamps as the store's UTC text)."""

    consecutive_failures: int = 0
    health_alerted: bool = False     # a "failing" message went out and no "recovered" since
    failing_since: str | None = None
    last_ok: str | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class HealthEvent:
    """A health message that is due: ``event`` is "failing" or "recovered"."""

    event: str
    payload: dict[str, object]


def transition(state: HealthState, poll: PollRecord, threshold: int, started: str
               ) -> tuple[HealthState, HealthEvent | None]:
    """The state after ``poll`` (which started at ``started``, store text) and the health message
    it makes due, if any: "failing" when the failures reach ``threshold`` and none went out yet,
    "recovered" on the first success after a "failing" message."""
    name = poll.source
    if poll.ok:
        event = None
        if state.health_alerted:
            event = HealthEvent("recovered", {"source": name, "event": "recovered",
                                              "failures": state.consecutive_failures,
                                              "since": state.failing_since})
        return replace(state, consecutive_failures=0, health_alerted=False, failing_since=None,
                       last_ok=started), event
    failures = state.consecutive_failures + 1
    since = state.failing_since or started
    reason = poll.error or "unknown error"
    new = replace(state, consecutive_failures=failures, failing_since=since, last_error=reason)
    if failures >= threshold and not state.health_alerted:
        return replace(new, health_alerted=True), HealthEvent(
            "failing", {"source": name, "event": "failing", "reason": reason, "failures": failures,
                        "since": since})
    return new, None
