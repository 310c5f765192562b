# No loop: one datagram is answered, then the program ends. Usage: udp_one_datagram.py PORT
import sys
from socket import *
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
print("The server is ready to receive", flush=True)
message, clientAddress = serverSocket.recvfrom(2048)
serverSocket.sendto(message.upper(), clientAddress)
