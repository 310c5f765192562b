# A correct TCPServer.py: a thread per client, recv() in a loop until the client closes, and
# upper() on the bytes (only a-z change). Usage: tcp_correct.py PORT
import sys, threading
from socket import *

def handle(connectionSocket):
    with connectionSocket:
        try:
            while True:
                data = connectionSocket.recv(4096)
                if not data:
                    break
                connectionSocket.sendall(data.upper())
        except OSError:
            pass  # a client that resets is its own problem, not the server's

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
serverSocket.listen(16)
print("The server is ready to receive", flush=True)
while True:
    connectionSocket, addr = serverSocket.accept()
    threading.Thread(target=handle, args=(connectionSocket,), daemon=True).start()
