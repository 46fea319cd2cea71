"""Escalation policies: ordered levels, each with receivers and a delay; a level is reached
when the group has fired that long past the previous level without an acknowledgement.
The whole policy may run again (``repeat``). An acknowledgement pauses escalation; when it
is withdrawn or expires while the group still fires, escalation starts over at level 1.

This module keeps each group's position (persisted, so a restart resumes exactly where it
was); the dispatcher runs the levels when they fall due.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from watchkeeper.alerting.config_ext import EscalationLevelConfig, EscalationPolicyConfig
from watchkeeper.core.clock import rfc3339
from watchkeeper.state.db import Database
from watchkeeper.state.tables.alerting import alerting_escalations

E = alerting_escalations


class EscalationStatus(StrEnum):
    RUNNING = "running"  # a level is due at next_at
    PAUSED = "paused"  # acknowledged
    STOPPED = "stopped"  # nothing left to do (last level reached, or nothing fires unmuted)


@dataclass(frozen=True, slots=True)
class EscalationState:
    group_id: str
    group_key: str
    policy: str
    epoch: int  # how many times escalation (re)started for this incident
    cycle: int  # repetition of the whole policy, from 0
    next_level: int  # index of the next level to reach
    started_at: float  # when this run started (part of the dedup key)
    next_at: float | None
    reached: tuple[str, ...]  # receivers notified by escalation so far
    status: EscalationStatus

    def to_dict(self, policy: EscalationPolicyConfig | None = None) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "group_key": self.group_key,
            "policy": self.policy,
            "status": self.status.value,
            "cycle": self.cycle,
            "next_level": self.next_level + 1
            if policy is None or self.next_level < len(policy.levels)
            else None,
            "next_at": rfc3339(self.next_at) if self.next_at is not None else None,
            "started_at": rfc3339(self.started_at),
            "reached": list(self.reached),
        }


class EscalationEngine:
    def __init__(self, db: Database, policies: Mapping[str, EscalationPolicyConfig]) -> None:
        self.db = db
        self.policies = dict(policies)
        self._states: dict[str, EscalationState] = {}

    def load(self) -> list[EscalationState]:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(E)).mappings().all()
        for r in rows:
            self._states[r["group_id"]] = EscalationState(
                group_id=r["group_id"],
                group_key=r["group_key"],
                policy=r["policy"],
                epoch=int(r["epoch"]),
                cycle=int(r["cycle"]),
                next_level=int(r["next_level"]),
                started_at=float(r["started_at"]),
                next_at=float(r["next_at"]) if r["next_at"] is not None else None,
                reached=tuple(json.loads(r["reached"])),
                status=EscalationStatus(r["state"]),
            )
        return list(self._states.values())

    def get(self, group_id: str) -> EscalationState | None:
        return self._states.get(group_id)

    def all(self) -> list[EscalationState]:
        return list(self._states.values())

    def reached(self, group_id: str) -> tuple[str, ...]:
        state = self._states.get(group_id)
        return state.reached if state is not None else ()

    def policy_of(self, state: EscalationState) -> EscalationPolicyConfig | None:
        return self.policies.get(state.policy)

    def start(self, group_id: str, group_key: str, policy: str, now: float) -> EscalationState:
        """Start (or restart) escalation of a group at level 1."""
        config = self.policies[policy]
        prev = self._states.get(group_id)
        state = EscalationState(
            group_id=group_id,
            group_key=group_key,
            policy=policy,
            epoch=(prev.epoch + 1) if prev is not None else 1,
            cycle=0,
            next_level=0,
            started_at=now,
            next_at=now + float(config.levels[0].after),
            reached=prev.reached if prev is not None else (),
            status=EscalationStatus.RUNNING,
        )
        return self._put(state)

    def due_level(self, group_id: str) -> tuple[EscalationState, EscalationLevelConfig] | None:
        state = self._states.get(group_id)
        if state is None or state.status is not EscalationStatus.RUNNING:
            return None
        config = self.policies.get(state.policy)
        if config is None or state.next_level >= len(config.levels):
            return None
        return state, config.levels[state.next_level]

    def advance(self, group_id: str, now: float, notified: tuple[str, ...]) -> EscalationState:
        """The due level was reached: remember who got it and schedule the next one."""
        state = self._states[group_id]
        config = self.policies[state.policy]
        reached = tuple(dict.fromkeys((*state.reached, *notified)))
        level = state.next_level + 1
        if level < len(config.levels):
            new = replace(
                state,
                next_level=level,
                next_at=now + float(config.levels[level].after),
                reached=reached,
            )
        elif state.cycle < config.repeat:
            new = replace(
                state,
                cycle=state.cycle + 1,
                next_level=0,
                next_at=now + float(config.repeat_after) + float(config.levels[0].after),
                reached=reached,
            )
        else:
            new = replace(
                state,
                next_level=level,
                next_at=None,
                reached=reached,
                status=EscalationStatus.STOPPED,
            )
        return self._put(new)

    def pause(self, group_id: str) -> EscalationState | None:
        state = self._states.get(group_id)
        if state is None or state.status is not EscalationStatus.RUNNING:
            return state
        return self._put(replace(state, status=EscalationStatus.PAUSED, next_at=None))

    def stop(self, group_id: str) -> EscalationState | None:
        state = self._states.get(group_id)
        if state is None or state.status is EscalationStatus.STOPPED:
            return state
        return self._put(replace(state, status=EscalationStatus.STOPPED, next_at=None))

    def finish(self, group_id: str) -> EscalationState | None:
        """The incident is over (everything resolved): forget the group's escalation."""
        state = self._states.pop(group_id, None)
        if state is not None:
            with self.db.begin() as conn:
                conn.execute(E.delete().where(E.c.group_id == group_id))
        return state

    def _put(self, state: EscalationState) -> EscalationState:
        with self.db.begin() as conn:
            conn.execute(E.delete().where(E.c.group_id == state.group_id))
            conn.execute(
                E.insert().values(
                    group_id=state.group_id,
                    group_key=state.group_key,
                    policy=state.policy,
                    epoch=state.epoch,
                    cycle=state.cycle,
                    next_level=state.next_level,
                    started_at=state.started_at,
                    next_at=state.next_at,
                    reached=json.dumps(list(state.reached)),
                    state=state.status.value,
                )
            )
        self._states[state.group_id] = state
        return state
