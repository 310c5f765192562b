# The mistake: replies to the port the student's own client used (a fixed number), not to the
# address recvfrom() returned. Here: the server's port + 1. Usage: udp_fixed_port.py PORT
import sys
from socket import *
serverPort = int(sys.argv[1])
clientPort = serverPort + 1
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', serverPort))
print("The server is ready to receive", flush=True)
while 1:
    message, clientAddress = serverSocket.recvfrom(2048)
    serverSocket.sendto(message.upper(), (clientAddress[0], clientPort))
