# The book's WebServer.py skeleton completed in Python 2 style: the head is sent as a str. In
# Python 3 send() takes bytes: TypeError on the first request, and only IOError is caught.
# Usage: web_send_str.py PORT [FOLDER]
import os, sys
from socket import *
if len(sys.argv) > 2:
    os.chdir(sys.argv[2])
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
serverSocket.listen(1)
while True:
    print('Ready to serve...', flush=True)
    connectionSocket, addr = serverSocket.accept()
    try:
        message = connectionSocket.recv(1024).decode()
        filename = message.split()[1]
        f = open(filename[1:], 'rb')
        outputdata = f.read()
        connectionSocket.send('HTTP/1.1 200 OK\r\n\r\n')
        connectionSocket.send(outputdata)
        connectionSocket.close()
    except IOError:
        connectionSocket.send('HTTP/1.1 404 Not Found\r\n\r\n')
        connectionSocket.close()
