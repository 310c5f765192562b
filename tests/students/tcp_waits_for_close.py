# Reads until the client closes its side (recv() returns b''), then answers: right for a client
# that half-closes, but the handout's client never does, so it waits for ever.
# Usage: tcp_waits_for_close.py PORT
import sys, threading
from socket import *

def handle(conn):
    data = b''
    while True:
        chunk = conn.recv(1024)
        if not chunk:
            break
        data += chunk
    conn.sendall(data.upper())
    conn.close()

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(5)
print("The server is ready to receive", flush=True)
while True:
    conn, addr = s.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
