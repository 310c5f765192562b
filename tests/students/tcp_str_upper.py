# The handout's TCPServer.py with the classic mistake: decode, str.upper(), encode. str.upper()
# turns ß into SS and é into É, and decode() raises UnicodeDecodeError on bytes that are not UTF-8,
# which nothing catches. Usage: tcp_str_upper.py PORT
import sys
from socket import *
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
serverSocket.listen(1)
print("The server is ready to receive", flush=True)
while 1:
    connectionSocket, addr = serverSocket.accept()
    sentence = connectionSocket.recv(1024).decode()
    capitalizedSentence = sentence.upper()
    connectionSocket.send(capitalizedSentence.encode())
    connectionSocket.close()
