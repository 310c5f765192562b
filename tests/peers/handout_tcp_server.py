# The handout's TCPServer.py, with the port from the command line: accept, one recv(1024),
# upper(), send, close. Prints the handout's line, then "Listening on" for the tests.
import sys
from socket import *
host, serverPort = sys.argv[1], int(sys.argv[2])
serverSocket = socket(AF_INET6 if ':' in host else AF_INET, SOCK_STREAM)
serverSocket.bind((host, serverPort))
serverSocket.listen(1)
print("The server is ready to receive")
print("Listening on", host, serverPort, flush=True)
while 1:
    connectionSocket, addr = serverSocket.accept()
    sentence = connectionSocket.recv(1024)
    capitalizedSentence = sentence.upper()
    connectionSocket.send(capitalizedSentence)
    connectionSocket.close()
