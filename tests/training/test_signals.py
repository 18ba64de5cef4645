"""The stop flag: a signal asks for a stop at the next step boundary; handlers are put back."""
import os
import signal

import pytest

from gankit.training.signals import StopFlag


class OneProcess:
    num_processes = 1


def test_sigterm_is_recorded_and_the_old_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    flag = StopFlag()
    with flag.installed():
        assert flag.agreed(OneProcess(), 1) is None
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag.agreed(OneProcess(), 2) == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_second_ctrl_c_interrupts_at_once():
    flag = StopFlag()
    with flag.installed():
        os.kill(os.getpid(), signal.SIGINT)
        assert flag.requested == "SIGINT"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
