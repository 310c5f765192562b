# The handout's TCPServer.py with swapcase() instead of upper(): lower case becomes upper, but upper
# case becomes lower, which Task 1 b forbids. Usage: tcp_swapcase.py PORT
import sys
from socket import *
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
serverSocket.listen(1)
print("The server is ready to receive", flush=True)
while 1:
    connectionSocket, addr = serverSocket.accept()
    sentence = connectionSocket.recv(1024)
    connectionSocket.send(sentence.swapcase())
    connectionSocket.close()
