# The handout's UDPServer.py, with host and port from the command line: recvfrom(2048), upper(), sendto.
import sys
from socket import *
host, serverPort = sys.argv[1], int(sys.argv[2])
serverSocket = socket(AF_INET6 if ':' in host else AF_INET, SOCK_DGRAM)
serverSocket.bind((host, serverPort))
print("The server is ready to receive")
print("Listening on", host, serverPort, flush=True)
while 1:
    message, clientAddress = serverSocket.recvfrom(2048)
    modifiedMessage = message.upper()
    serverSocket.sendto(modifiedMessage, clientAddress)
