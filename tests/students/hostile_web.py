# A "student" web server that attacks the grader, to see that lab-check stays bounded and honest.
# Threaded; binds 127.0.0.1 PORT; exits by itself after 120 s. Usage: hostile_web.py MODE PORT [FOLDER]
#   endless-head     a status line, then header lines for ever
#   endless-chunked  a chunked body that never ends
#   trickle          a right answer, one byte a second
#   escapes          terminal escapes in the status line, a header and the body
#   reset-accept     resets every connection as soon as it is accepted
#   reset-mid        sends half of a right answer, then resets
import os, socket, struct, sys, threading, time

mode, port = sys.argv[1], int(sys.argv[2])
folder = sys.argv[3] if len(sys.argv) > 3 else '.'
started = time.time()

def alive():
    return time.time() - started < 120

def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    conn.close()

def right_answer(request):
    try:
        name = request.split()[1].decode().lstrip('/')
        with open(os.path.join(folder, name), 'rb') as f:
            body = f.read()
        return b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n' % len(body) + body
    except (OSError, IndexError):
        return b'HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found'

def serve(conn):
    try:
        if mode == 'reset-accept':
            return reset(conn)
        request = conn.recv(65536)
        if mode == 'endless-head':
            conn.sendall(b'HTTP/1.1 200 OK\r\n')
            while alive():
                conn.sendall(b'X-Padding: ' + b'a' * 1000 + b'\r\n')
        elif mode == 'endless-chunked':
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n')
            while alive():
                conn.sendall(b'400\r\n' + b'x' * 1024 + b'\r\n')
        elif mode == 'trickle':
            for byte in right_answer(request):
                if not alive():
                    break
                conn.sendall(bytes([byte]))
                time.sleep(1)
        elif mode == 'reset-mid':
            answer = right_answer(request)
            conn.sendall(answer[: len(answer) // 2])
            time.sleep(0.05)
            return reset(conn)
        elif mode == 'escapes':
            body = b'\x1b[2J\x1b]8;;http://evil.example/\x07click me\x1b]8;;\x07'
            conn.sendall(b'HTTP/1.1 200 OK\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x9b31m\r\nContent-Type: text/html\x1b[8m\r\n'
                         b'Content-Length: %d\r\n\r\n' % len(body) + body)
    except OSError:
        pass
    finally:
        conn.close()

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', port))
server.listen(64)
server.settimeout(1)
print('Ready to serve...', flush=True)
while alive():
    try:
        conn, _ = server.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
