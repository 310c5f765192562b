# The handout's UDPClient.py, with server, port and sentence from the command line:
# sendto, recvfrom(2048), print, close. (A 5 s timeout so a test can never hang.)
import sys
from socket import *
serverName, serverPort, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
clientSocket = socket(AF_INET6 if ':' in serverName else AF_INET, SOCK_DGRAM)
clientSocket.settimeout(5)
clientSocket.sendto(message.encode(), (serverName, serverPort))
modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
print(modifiedMessage.decode(errors='replace'))
clientSocket.close()
