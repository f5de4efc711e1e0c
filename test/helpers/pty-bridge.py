"""A pseudo-terminal bridged to TCP, standing in for a USB-serial adapter in tests.

  python3 pty-bridge.py connect HOST PORT   relays the pty master to a TCP server (a meter's listener)
  python3 pty-bridge.py listen              relays it to the first client of a TCP port it opens

Prints "pty /dev/pts/N" (and "tcp PORT" when listening), then relays bytes both ways until the TCP
side closes, stdin closes (the parent went away) or SIGTERM. It keeps its own slave descriptor open
so the master does not see EIO when the program under test closes and reopens the slave.
"""
import os
import select
import signal
import socket
import sys

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
master, slave = os.openpty()
path = os.ttyname(slave)

if sys.argv[1] == "connect":
    sock = socket.create_connection((sys.argv[2], int(sys.argv[3])))
    print("pty", path, flush=True)
else:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    print("pty", path, flush=True)
    print("tcp", server.getsockname()[1], flush=True)
    while True:
        ready, _, _ = select.select([server, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
            sys.exit(0)
        if server in ready:
            sock, _ = server.accept()
            break
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

while True:
    ready, _, _ = select.select([master, sock, sys.stdin], [], [])
    if master in ready:
        sock.sendall(os.read(master, 4096))
    if sock in ready:
        data = sock.recv(4096)
        if not data:
            break
        os.write(master, data)
    if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
        break
