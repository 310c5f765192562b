# The most common beginner's bug: no loop around accept(). The first client gets the right
# answer, then the program ends (exit status 0). Usage: tcp_one_client.py PORT
import sys
from socket import *
serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('127.0.0.1', serverPort))
serverSocket.listen(1)
print("The server is ready to receive", flush=True)
connectionSocket, addr = serverSocket.accept()
sentence = connectionSocket.recv(1024)
connectionSocket.send(sentence.upper())
connectionSocket.close()
serverSocket.close()
