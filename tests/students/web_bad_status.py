# Every answer begins "HTTP 200 OK": the version lacks its "/1.1". Browsers refuse such a line;
# everything after it (headers, the file's bytes, the 404) is right. Usage: web_bad_status.py PORT [FOLDER]
import os, sys, threading
from socket import *
folder = sys.argv[2] if len(sys.argv) > 2 else '.'

def handle(c):
    req = b''
    while b'\r\n\r\n' not in req:
        part = c.recv(1024)
        if not part:
            c.close()
            return
        req += part
    name = req.split()[1].decode().lstrip('/')
    path = os.path.join(folder, name)
    if '..' not in name and os.path.isfile(path):
        body = open(path, 'rb').read()
        kind = 'text/html' if name.endswith('.html') else 'image/png' if name.endswith('.png') else 'application/octet-stream'
        c.sendall(b'HTTP 200 OK\r\nContent-Type: ' + kind.encode() + b'\r\nContent-Length: ' + str(len(body)).encode() + b'\r\n\r\n' + body)
    else:
        page = b'<h1>404 Not Found</h1>'
        c.sendall(b'HTTP 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: ' + str(len(page)).encode() + b'\r\n\r\n' + page)
    c.close()

s = socket(AF_INET, SOCK_STREAM)
s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(10)
print('Ready to serve...', flush=True)
while True:
    c, a = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
