# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Exponential restart back-off per task: initial, ×multiplier per attempt, capped; reset after a healthy period."""

from __future__ import annotations


class Backoff:
    def __init__(self, initial=10.0, maximum=600.0, multiplier=2.0, reset_after=600.0):
        self.initial, self.maximum, self.multiplier, self.reset_after = initial, maximum, multiplier, reset_after
        self.attempts = 0
        self.next_at = 0.0          # no restart before this time
        self.healthy_since = None   # RUNNING since (for the reset)

    def delay(self):
        """The delay that the next restart will wait after this one."""
        return min(self.maximum, self.initial * self.multiplier ** max(0, self.attempts - 1)) if self.attempts else 0.0

    def ready(self, now):
        return now >= self.next_at

    def record_restart(self, now):
        self.attempts += 1
        self.healthy_since = None
        self.next_at = now + self.delay()
        return self.delay()

    def observe_healthy(self, now):
        """Called while the task is RUNNING; returns True when this reset the counter."""
        if self.healthy_since is None:
            self.healthy_since = now
        if self.attempts and now - self.healthy_since >= self.reset_after:
            self.attempts, self.next_at = 0, 0.0
            return True
        return False

    def observe_failed(self):
        self.healthy_since = None

    def state(self, now):
        return {'attempts': self.attempts, 'delay_seconds': self.delay(),
                'wait_seconds': max(0.0, self.next_at - now)}
