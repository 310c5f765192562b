# Threads, but the connection socket is a global: the next accept() replaces it, so a thread that
# was waiting on an earlier client sends its reply to the newest one. Usage: tcp_threads_shared.py PORT
import sys, threading
from socket import *

def handle():
    sentence = connectionSocket.recv(1024)
    connectionSocket.send(sentence.upper())

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
serverSocket.listen(5)
print("The server is ready to receive", flush=True)
while True:
    connectionSocket, addr = serverSocket.accept()
    threading.Thread(target=handle, daemon=True).start()
