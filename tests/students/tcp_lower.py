# lower() where upper() was meant: a-z stay, A-Z become a-z. Reads until the client closes, so
# long and split messages come back whole. Usage: tcp_lower.py PORT
import sys, threading
from socket import *

def handle(conn):
    try:
        while True:
            data = conn.recv(2048)
            if not data:
                break
            conn.sendall(data.lower())
    except OSError:
        pass
    conn.close()

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(5)
print("The server is ready to receive", flush=True)
while True:
    c, a = s.accept()
    threading.Thread(target=handle, args=(c,)).start()
