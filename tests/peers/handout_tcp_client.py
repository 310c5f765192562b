# The handout's TCPClient.py, with server, port and sentence from the command line: connect,
# send, one recv(1024), print, close (never half-closes).
import sys
from socket import *
serverName, serverPort, sentence = sys.argv[1], int(sys.argv[2]), sys.argv[3]
clientSocket = socket(AF_INET6 if ':' in serverName else AF_INET, SOCK_STREAM)
clientSocket.connect((serverName, serverPort))
sentence = sentence.encode()
clientSocket.send(sentence)
modifiedSentence = clientSocket.recv(1024)
print('from Server:', modifiedSentence.decode(errors='replace'))
clientSocket.close()
