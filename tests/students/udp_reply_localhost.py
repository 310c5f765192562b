# Replies to the client's port, but always at 127.0.0.1: right while client and server share a
# host and the client uses 127.0.0.1, wrong from any other address. Usage: udp_reply_localhost.py PORT
import sys
from socket import *
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', int(sys.argv[1])))
print("The server is ready to receive", flush=True)
while True:
    message, clientAddress = serverSocket.recvfrom(65535)
    serverSocket.sendto(message.upper(), ('127.0.0.1', clientAddress[1]))
