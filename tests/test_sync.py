"""The background uploader (gtwidgets.sync): what flush promises."""
from __future__ import annotations

import threading

from gtwidgets.sync import Uploader


class SlowManifest:
    """A sync target whose passes each write the state they read first, after their own gate opens."""

    def __init__(self):
        self.state, self.written = 0, []
        self.reading = [threading.Event(), threading.Event()]
        self.gates = [threading.Event(), threading.Event()]

    def pending_work(self):
        return []

    def do_work(self, item):
        return item

    def work_done(self, results):
        pass

    def after_batch(self, *, final):
        n, state = len(self.written), self.state
        if n < 2:
            self.reading[n].set()
            assert self.gates[n].wait(60)
        self.written.append(state)


def test_flush_waits_for_a_pass_that_began_after_it():
    """A pass already writing an older state does not end a flush: machine labels a training thread
    applied while the uploader wrote must be in the store when flush returns True."""
    target = SlowManifest()
    uploader = Uploader(target)
    uploader.poke()
    assert target.reading[0].wait(30)       # a pass is writing state 0
    target.state = 1                        # then the job changes
    flushed, poked, poke = [], threading.Event(), uploader.poke

    def poke_and_say():
        number = poke()
        poked.set()
        return number
    uploader.poke = poke_and_say
    waiter = threading.Thread(target=lambda: flushed.append((uploader.flush(60), list(target.written))))
    waiter.start()
    assert poked.wait(30)                   # flush asked for a pass of its own
    target.gates[0].set()                   # the old pass ends ...
    assert target.reading[1].wait(30)       # ... and the next one begins
    waiter.join(2)                          # a flush that returned now would miss state 1
    target.gates[1].set()
    waiter.join(60)
    (done, written), = flushed
    assert done and written[-1] == 1        # the store held state 1 when flush returned
    uploader.stop()
