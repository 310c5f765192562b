# A correct UDPServer.py: reads whole datagrams (up to 65535 bytes), upper() on the bytes, and
# answers through the same socket to the address recvfrom() gave. Usage: udp_correct.py PORT
import sys
from socket import *
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
print("The server is ready to receive", flush=True)
while 1:
    message, clientAddress = serverSocket.recvfrom(65535)
    serverSocket.sendto(message.upper(), clientAddress)
