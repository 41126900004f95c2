from ansible_collections.sluice.cdc.plugins.module_utils.supervisor.backoff import Backoff


def test_exponential_capped_and_reset():
    b = Backoff(initial=10, maximum=60, multiplier=2, reset_after=100)
    assert b.ready(0) and b.delay() == 0
    delays = []
    now = 0
    for _ in range(5):
        assert b.ready(now)
        delays.append(b.record_restart(now))
        assert not b.ready(now + delays[-1] - 1)
        now += delays[-1]
    assert delays == [10, 20, 40, 60, 60]
    assert b.state(now - 10) == {'attempts': 5, 'delay_seconds': 60, 'wait_seconds': 10}
    assert not b.observe_healthy(now)
    assert not b.observe_healthy(now + 99)
    assert b.observe_healthy(now + 100)
    assert b.attempts == 0 and b.ready(now + 100)


def test_failure_interrupts_the_healthy_period():
    b = Backoff(initial=1, maximum=8, reset_after=10)
    b.record_restart(0)
    b.observe_healthy(1)
    b.observe_failed()
    assert not b.observe_healthy(10)  # the healthy period starts again at 10
    assert b.observe_healthy(20)
