# The handout's UDPServer.py with decode().upper().encode(): é and ß change, and the first datagram
# that is not UTF-8 ends the server with UnicodeDecodeError. Usage: udp_str_upper.py PORT
import sys
from socket import *
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
print("The server is ready to receive", flush=True)
while 1:
    message, clientAddress = serverSocket.recvfrom(2048)
    modifiedMessage = message.decode().upper()
    serverSocket.sendto(modifiedMessage.encode(), clientAddress)
