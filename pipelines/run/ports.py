"""The port a server will listen on, checked before any model loads: `serve` and `webui` used to load for half a
minute and then stop with uvicorn's own error when another server had the port."""

import errno
import socket

from pipelines.core.errors import DomaintuneError


def check_port(host: str, port: int) -> None:
    """A DomaintuneError when nothing could listen on host:port now (in use, not this machine's address, ...)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise DomaintuneError(f"--host {host}: not an address to listen on ({exc.strerror})") from None
    with socket.socket(family, kind, proto) as sock:
        # As uvicorn binds: a socket of a server that just stopped (TIME_WAIT) does not hold the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DomaintuneError(f"port {port} on {host} is already in use (another server?); stop it or pick another --port") from None
            raise DomaintuneError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
