# Sends hello.html whatever is asked: the student hard-coded the file while testing and never took
# the name from the request. Usage: web_same_file.py PORT [FOLDER]
import os, sys
from socket import *
folder = sys.argv[2] if len(sys.argv) > 2 else '.'
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
serverSocket.listen(5)
while True:
    print('Ready to serve...', flush=True)
    connectionSocket, addr = serverSocket.accept()
    try:
        message = connectionSocket.recv(4096)
        with open(os.path.join(folder, 'hello.html'), 'rb') as f:
            outputdata = f.read()
        header = 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n' % len(outputdata)
        connectionSocket.sendall(header.encode() + outputdata)
    except OSError:
        pass
    connectionSocket.close()
