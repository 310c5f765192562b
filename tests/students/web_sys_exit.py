# The skeleton's own ending: sys.exit() at the end of the loop's body ("Terminate the program
# after sending the corresponding data"), so one request is answered, right, and the server ends.
# Usage: web_sys_exit.py PORT [FOLDER]
import mimetypes, os, sys
from socket import *
if len(sys.argv) > 2:
    os.chdir(sys.argv[2])
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
serverSocket.listen(1)
while True:
    print('Ready to serve...', flush=True)
    connectionSocket, addr = serverSocket.accept()
    try:
        request = b''
        while b'\r\n\r\n' not in request:
            data = connectionSocket.recv(1024)
            if not data:
                break
            request += data
        filename = request.split()[1].decode()
        with open(filename[1:], 'rb') as f:
            body = f.read()
        ctype = mimetypes.guess_type(filename)[0] or 'application/octet-stream'
        connectionSocket.sendall(f'HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n'.encode() + body)
    except (IOError, IndexError):
        connectionSocket.sendall(b'HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 22\r\n\r\n<h1>404 Not Found</h1>')
    connectionSocket.close()
    serverSocket.close()
    sys.exit()
