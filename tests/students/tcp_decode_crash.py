# Changes only a-z, as Task 1 asks, but on a decoded str: fine for text, and the first bytes that are
# not UTF-8 raise UnicodeDecodeError, which ends the server. Usage: tcp_decode_crash.py PORT
import sys
from socket import *
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
serverSocket.listen(1)
print("The server is ready to receive", flush=True)
while 1:
    connectionSocket, addr = serverSocket.accept()
    sentence = connectionSocket.recv(1024).decode('utf-8')
    result = ''.join(chr(ord(c) - 32) if 'a' <= c <= 'z' else c for c in sentence)
    connectionSocket.send(result.encode('utf-8'))
    connectionSocket.close()
