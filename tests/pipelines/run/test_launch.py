"""Children never outlive us: SIGINT, SIGTERM, SIGHUP and SIGQUIT to the parent reach the child's whole process
group and are waited for; a child that ignores them is escalated to SIGTERM, then SIGKILL (issue 20, case 1).

Each test starts a real parent process (python running `run_child` or `webui`), whose child writes its pid and
then waits; the test signals the parent only, as a terminal or `kill PID` would, and checks the child is gone.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipelines.core.paths import REPO_ROOT

pytestmark = pytest.mark.slow(33)  # seconds of a quiet 2-core machine: started first under xdist

# The child: record our pid and the signal that ends us, then wait for it.
CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    out = sys.argv[1]
    def stop(signum, frame):
        open(out + ".signal", "w").write(signal.Signals(signum).name)
        time.sleep(0.5)  # a child that takes a moment to clean up must still be waited for
        open(out + ".cleaned", "w").write("yes")
        sys.exit(0)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, stop)
    open(out, "w").write(str(os.getpid()))
    while True:
        time.sleep(0.1)
    """
)
# A stubborn child: notes every signal it gets and carries on, except those named after the pid file, which end it.
STUBBORN = textwrap.dedent(
    """
    import os, signal, sys, time
    out, ending = sys.argv[1], sys.argv[2:]
    def note(signum, frame):
        with open(out + ".signals", "a") as f:
            f.write(signal.Signals(signum).name + "\\n")
        if signal.Signals(signum).name in ending:
            sys.exit(0)
    signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)
    open(out, "w").write(str(os.getpid()))
    while True:
        time.sleep(0.1)
    """
)


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while not path.exists() or not path.read_text():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return path.read_text()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def child_script(tmp_path) -> Path:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    return script


def start_parent(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# SIGHUP: a closed terminal or a dropped SSH session; it used to kill the parent alone (129) and orphan the child.
@pytest.mark.parametrize("signum, exit_code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGQUIT, 131)])
def test_signal_to_parent_stops_and_waits_for_the_child(tmp_path, child_script, signum, exit_code):
    pid_file = tmp_path / "child.pid"
    parent = start_parent(
        textwrap.dedent(
            f"""
            import sys
            from pipelines.core.errors import Interrupted
            from pipelines.run.launch import run_child
            try:
                run_child([sys.executable, {str(child_script)!r}, {str(pid_file)!r}], log_path=__import__("pathlib").Path({str(tmp_path / "child.log")!r}))
            except Interrupted as exc:
                print(exc)
                sys.exit(128 + exc.signum)
            """
        )
    )
    child_pid = int(wait_for(pid_file, parent))
    parent.send_signal(signum)
    out, err = parent.communicate(timeout=60)
    assert parent.returncode == exit_code, err
    assert f"stopped by {signal.Signals(signum).name}" in out
    assert (tmp_path / "child.pid.signal").read_text() == signal.Signals(signum).name
    # The parent returned only after the child finished cleaning up, and nothing is left running.
    assert (tmp_path / "child.pid.cleaned").read_text() == "yes"
    assert not alive(child_pid)


def test_sigterm_to_webui_stops_the_ui(tmp_path, child_script, monkeypatch):
    pid_file = tmp_path / "ui.pid"
    # The real UI takes minutes to import here; a stand-in `llamafactory-cli` shows the same process handling.
    fake_cli = tmp_path / "llamafactory-cli"
    fake_cli.write_text(f"#!{sys.executable}\nimport runpy, sys\nsys.argv = [{str(child_script)!r}, {str(pid_file)!r}]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n")
    fake_cli.chmod(0o755)
    parent = start_parent(
        textwrap.dedent(
            f"""
            import sys
            import pipelines.run.webui as webui
            from pipelines.core.errors import Interrupted
            webui.llamafactory_cli = lambda: {str(fake_cli)!r}
            try:
                webui.webui(port=1)
            except Interrupted as exc:
                sys.exit(128 + exc.signum)
            """
        )
    )
    ui_pid = int(wait_for(pid_file, parent))
    parent.send_signal(signal.SIGTERM)
    parent.communicate(timeout=60)
    assert parent.returncode == 143
    assert (tmp_path / "ui.pid.signal").read_text() == "SIGTERM"
    assert not alive(ui_pid)


def test_exit_code_of_a_failing_child_is_returned(tmp_path):
    from pipelines.run.launch import run_child

    log = tmp_path / "out.log"
    code = run_child([sys.executable, "-c", "print('hello'); raise SystemExit(3)"], log_path=log, quiet=True)
    assert code == 3 and log.read_text() == "hello\n"


def run_stubborn_child(tmp_path, ending: list[str]) -> tuple[subprocess.Popen, int, float]:
    """A parent running STUBBORN under run_child with a 1 s grace, sent SIGINT; returns it, the child's pid and
    how long the parent took to exit after the signal."""
    script, pid_file = tmp_path / "stubborn.py", tmp_path / "child.pid"
    script.write_text(STUBBORN, encoding="utf-8")
    parent = start_parent(
        textwrap.dedent(
            f"""
            import sys
            from pathlib import Path
            from pipelines.core.errors import Interrupted
            from pipelines.run.launch import run_child
            try:
                run_child([sys.executable, {str(script)!r}, {str(pid_file)!r}, *{ending!r}], log_path=Path({str(tmp_path / "child.log")!r}), grace_s=1)
            except Interrupted as exc:
                print(exc, "child exit code", exc.code)
                sys.exit(128 + exc.signum)
            """
        )
    )
    child_pid = int(wait_for(pid_file, parent))
    parent.send_signal(signal.SIGINT)
    sent = time.monotonic()
    parent.wait(timeout=60)
    return parent, child_pid, time.monotonic() - sent


def test_a_child_that_ignores_sigint_gets_sigterm_after_the_grace_period(tmp_path):
    # Before: the parent waited for it forever.
    parent, child_pid, seconds = run_stubborn_child(tmp_path, ending=["SIGTERM"])
    out, err = parent.communicate()
    assert parent.returncode == 130, err
    assert (tmp_path / "child.pid.signals").read_text().split() == ["SIGINT", "SIGTERM"]
    assert seconds >= 1 and "stopped by SIGINT child exit code 0" in out
    assert not alive(child_pid)


def test_a_child_that_ignores_sigint_and_sigterm_is_killed(tmp_path):
    parent, child_pid, seconds = run_stubborn_child(tmp_path, ending=[])
    out, err = parent.communicate()
    assert parent.returncode == 130, err
    assert (tmp_path / "child.pid.signals").read_text().split() == ["SIGINT", "SIGTERM"]
    assert seconds >= 2 and f"child exit code {-signal.SIGKILL}" in out
    assert not alive(child_pid)


def test_a_failed_train_prints_the_tail_of_its_log_and_nothing_else_of_it():
    # The real llamafactory-cli, failing fast: the template is read after the tokenizer, before any training.
    domaintune = str(Path(sys.executable).with_name("domaintune"))
    subprocess.run([domaintune, "data", "--task", "telecom"], cwd=REPO_ROOT, check=True, capture_output=True)
    result = subprocess.run(
        [domaintune, "train", "--task", "telecom", "--gpu", "cpu", "--model", "tiny", "--set", "template=no_such_template"],
        check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 1, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    log = Path(error.rpartition("full log: ")[2])
    assert error.startswith("Error: `llamafactory-cli train ") and log.name == "train.log"
    before, marker, rest = result.stderr.partition(f"--- last 30 lines of {log} ---\n")
    tail = rest.split("---\n")[0].splitlines()
    expected = [line.rstrip() for line in log.read_text(encoding="utf-8").splitlines() if line.strip()][-30:]
    assert marker and tail == expected
    assert tail[-1] == "ValueError: Template no_such_template does not exist."
    # The progress line said it started and failed; none of the child's other lines reached the terminal.
    assert "train: failed (exit code 1)" in before and "[INFO|" not in before + result.stdout
    assert json.loads((log.parent / "status.json").read_text())["state"] == "failed"


def test_samples_per_step_is_said_only_where_one_process_trains():
    from pipelines.run.launch import samples_per_step

    recipe = {"do_train": True, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 8}
    assert samples_per_step(recipe, {}) == (16, "samples")
    assert samples_per_step({**recipe, "packing": True}, {}) == (16, "rows")
    assert samples_per_step({**recipe, "deepspeed": "ds.json"}, {}) is None
    assert samples_per_step(recipe, {"FORCE_TORCHRUN": "1"}) is None
    assert samples_per_step({"do_predict": True, "per_device_eval_batch_size": 8}, {}) is None
