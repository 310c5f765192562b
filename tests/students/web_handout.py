# The handout's WebServer.py as students complete the book's skeleton: one recv(1024), split()[1]
# for the file name, a text-mode open(), the file sent a character at a time with "\r\n" after
# it, and only IOError caught. Usage: web_handout.py PORT [FOLDER] (FOLDER: where its files are).
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
        f = open(filename[1:])
        outputdata = f.read()
        connectionSocket.send("HTTP/1.1 200 OK\r\n\r\n".encode())
        for i in range(0, len(outputdata)):
            connectionSocket.send(outputdata[i].encode())
        connectionSocket.send("\r\n".encode())
        connectionSocket.close()
    except IOError:
        connectionSocket.send("HTTP/1.1 404 Not Found\r\n\r\n".encode())
        connectionSocket.send("<html><head></head><body><h1>404 Not Found</h1></body></html>\r\n".encode())
        connectionSocket.close()
