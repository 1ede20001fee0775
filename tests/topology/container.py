"""What a container has of its own, for processes that share this machine."""

import os
import socket


def hostname() -> str:
    """The container's hostname (Docker sets ``HOSTNAME``): Airflow records it per task try."""
    return os.environ.get("HOSTNAME") or socket.getfqdn()
