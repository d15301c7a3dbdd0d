"""A server process that fails to start fails with its output, and is always reaped."""

import sys
import time

import pytest
from tests.server_process import pid_alive

from mockpytest import process as process_module
from mockpytest.process import PortTakenError, ServerProcess, ServerStartError, free_port

DEADLINE_S = 30.0


def start(script: str) -> ServerProcess:
    return ServerProcess([sys.executable, "-c", script], env={}, base_url=f"http://127.0.0.1:{free_port()}")


def wait_for_output(process: ServerProcess, text: str) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while text not in process.output():
        assert time.monotonic() < deadline, process.describe()
        time.sleep(0.02)
    return process.output()


def test_a_server_that_exits_fails_with_its_status_and_last_output() -> None:
    process = start("print('first line'); print('why it stopped'); raise SystemExit(3)")
    try:
        with pytest.raises(ServerStartError) as caught:
            process.wait_until_ready(workers=None, timeout_s=DEADLINE_S)
    finally:
        process.kill()
    message = str(caught.value)
    assert "the server exited during start-up" in message
    assert "exit status: 3" in message
    assert message.endswith("first line\nwhy it stopped")


def test_a_port_taken_by_someone_else_is_told_apart() -> None:
    process = start("print('OSError: [Errno 98] Address already in use'); raise SystemExit(1)")
    try:
        with pytest.raises(PortTakenError):
            process.wait_until_ready(workers=None, timeout_s=DEADLINE_S)
    finally:
        process.kill()


def test_a_server_that_never_answers_fails_after_the_timeout_and_is_stopped() -> None:
    process = start("import time; print('listening nowhere', flush=True); time.sleep(60)")
    wait_for_output(process, "listening nowhere")
    with pytest.raises(ServerStartError, match=r"did not come up within 0\.2 s \(/health\)"):
        process.wait_until_ready(workers=None, timeout_s=0.2)
    process.close()
    assert not pid_alive(process.pid)


def test_close_kills_the_whole_group_when_sigterm_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process_module, "STOP_TIMEOUT_S", 0.5)
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(f'worker {worker.pid}', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = start(script)
    worker_pid = int(wait_for_output(process, "worker ").split()[1])
    process.close()
    assert not pid_alive(process.pid)
    deadline = time.monotonic() + DEADLINE_S
    # Only the master got SIGTERM: the worker dies within the deadline only if the group was killed.
    while pid_alive(worker_pid):
        assert time.monotonic() < deadline, f"worker {worker_pid} outlived close()"
        time.sleep(0.02)
