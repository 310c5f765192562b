# Keeps every connection open for more requests (as HTTP/1.1 allows) but sends no Content-Length,
# and ignores "Connection: close": no client can tell where a body ends.
# Usage: web_keepalive_no_length.py PORT [FOLDER]
import mimetypes, os, sys, threading
from socket import *
root = os.path.realpath(sys.argv[2] if len(sys.argv) > 2 else '.')

def client(conn):
    buffer = b''
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                break
            buffer += data
            while b'\r\n\r\n' in buffer:
                head, buffer = buffer.split(b'\r\n\r\n', 1)
                path = head.split()[1].decode()
                full = os.path.realpath(os.path.join(root, path.lstrip('/')))
                if full.startswith(root + os.sep) and os.path.isfile(full):
                    body = open(full, 'rb').read()
                    ctype = mimetypes.guess_type(full)[0] or 'application/octet-stream'
                    conn.sendall(f'HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n\r\n'.encode() + body)
                else:
                    conn.sendall(b'HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>404 Not Found</h1>')
    except (OSError, IndexError):
        pass
    conn.close()

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(16)
print('Ready to serve...', flush=True)
while True:
    conn, addr = s.accept()
    threading.Thread(target=client, args=(conn,), daemon=True).start()
