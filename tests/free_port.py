"""`free_port()`: a TCP port nobody listens on now, for rendezvous of process groups (never a fixed number, so two
test runs on one machine do not collide)."""
import socket

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]
