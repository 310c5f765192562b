# The handout's server ported from Python 2 by hand: decode() added to the recv(), but the reply
# is sent as a str. In Python 3 send() takes bytes: TypeError at the first client, which ends the
# server before it answers. Usage: tcp_send_str.py PORT
import sys
from socket import *
serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('127.0.0.1', serverPort))
serverSocket.listen(1)
print("The server is ready to receive", flush=True)
while 1:
    connectionSocket, addr = serverSocket.accept()
    sentence = connectionSocket.recv(1024).decode()
    capitalizedSentence = sentence.upper()
    connectionSocket.send(capitalizedSentence)
    connectionSocket.close()
