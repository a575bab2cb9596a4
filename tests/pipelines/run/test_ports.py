"""`serve` and `webui` check their port before loading anything (issue 20: `serve` on a busy port printed
"serving ...", loaded the model for 25 s, then exited 3 with uvicorn's message)."""

import socket

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.errors import DomaintuneError
from pipelines.run.ports import check_port


def test_a_busy_port_is_refused_and_a_free_one_passes(busy_port):
    with pytest.raises(DomaintuneError, match=f"port {busy_port} on 127.0.0.1 is already in use"):
        check_port("127.0.0.1", busy_port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    check_port("127.0.0.1", free)


def test_an_address_not_of_this_machine_is_refused():
    with pytest.raises(DomaintuneError, match="cannot listen on 192.0.2.1:8000: "):  # TEST-NET-1, never local
        check_port("192.0.2.1", 8000)


@pytest.mark.parametrize("command", [["serve", "--task", "telecom", "--base-only", "--model", "tiny"], ["webui"]])
def test_serve_and_webui_stop_at_once_on_a_busy_port(busy_port, command):
    result = CliRunner().invoke(cli, [*command, "--port", str(busy_port)])
    assert result.exit_code == 1
    assert result.output == f"Error: port {busy_port} on 127.0.0.1 is already in use (another server?); stop it or pick another --port\n"
