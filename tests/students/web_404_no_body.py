# Right in every way but one: a missing file gets "404 Not Found" and its head, with no page
# after it (valid HTTP; the browser shows its own page). Usage: web_404_no_body.py PORT [FOLDER]
import mimetypes, os, sys, threading
from socket import *
root = os.path.realpath(sys.argv[2] if len(sys.argv) > 2 else '.')

def serve_client(conn):
    try:
        request = b''
        while b'\r\n\r\n' not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        path = request.split(b' ')[1].decode()
        filename = os.path.realpath(os.path.join(root, path.lstrip('/')))
        if filename.startswith(root + os.sep) and os.path.isfile(filename):
            with open(filename, 'rb') as f:
                data = f.read()
            ctype = mimetypes.guess_type(filename)[0] or 'application/octet-stream'
            conn.sendall(f'HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(data)}\r\n\r\n'.encode() + data)
        else:
            conn.sendall(b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
    except (OSError, IndexError):
        pass
    finally:
        conn.close()

server = socket(AF_INET, SOCK_STREAM)
server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
server.bind(('127.0.0.1', int(sys.argv[1])))
server.listen(16)
print('Ready to serve...', flush=True)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve_client, args=(conn,), daemon=True).start()
