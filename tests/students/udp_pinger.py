# The pinger lab's server (Kurose & Ross, UDPPingerServer.py), pointed at this lab by mistake or
# on purpose: it uppercases, but drops about 36% of the datagrams at random to simulate loss.
# Usage: udp_pinger.py PORT
import random, sys
from socket import *
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
print("The server is ready to receive", flush=True)
while True:
    rand = random.randint(0, 10)
    message, address = serverSocket.recvfrom(1024)
    message = message.upper()
    if rand < 4:
        continue
    serverSocket.sendto(message, address)
