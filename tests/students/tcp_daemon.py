# A correct server that puts itself in the background the Unix way (fork, setsid, fork), as a
# student who read about daemons might: the shell's process exits at once, the server lives on
# outside its process group. Usage: tcp_daemon.py PORT
import os, sys, threading
from socket import *

if os.fork() > 0:
    sys.exit(0)
os.setsid()
if os.fork() > 0:
    sys.exit(0)

def handle(conn):
    with conn:
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                conn.sendall(data.upper())
        except OSError:
            pass

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(16)
while True:
    conn, addr = s.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
