# web_correct.py with one mistake: files are read in text mode (errors='ignore' to stop the
# crash), so an image loses every byte that is not UTF-8. Usage: web_text_mode.py PORT [FOLDER]
import mimetypes, os, sys, threading
from socket import *
from urllib.parse import unquote
root = os.path.realpath(sys.argv[2] if len(sys.argv) > 2 else '.')

def answer(connectionSocket, status, body, ctype='text/html; charset=utf-8'):
    head = f'HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n'
    connectionSocket.sendall(head.encode() + body)

def handle(connectionSocket):
    with connectionSocket:
        try:
            request = b''
            while b'\r\n\r\n' not in request:
                data = connectionSocket.recv(4096)
                if not data:
                    return
                request += data
            parts = request.split(b'\r\n', 1)[0].split()
            if len(parts) != 3:
                return answer(connectionSocket, '400 Bad Request', b'<h1>400 Bad Request</h1>')
            path = os.path.realpath(os.path.join(root, unquote(parts[1].decode('latin-1')).lstrip('/')))
            if not path.startswith(root + os.sep) or not os.path.isfile(path):
                return answer(connectionSocket, '404 Not Found', b'<h1>404 Not Found</h1>')
            with open(path, errors='ignore') as f:
                answer(connectionSocket, '200 OK', f.read().encode(), mimetypes.guess_type(path)[0] or 'application/octet-stream')
        except OSError:
            pass

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
serverSocket.listen(16)
print('Ready to serve...', flush=True)
while True:
    connectionSocket, addr = serverSocket.accept()
    threading.Thread(target=handle, args=(connectionSocket,), daemon=True).start()
