# A "student" TCP server that attacks the grader, to see that lab-check stays bounded and honest.
# Threaded; binds 127.0.0.1 PORT; exits by itself after 120 s. Usage: hostile_tcp.py MODE PORT
#   flood         answers right, then keeps sending 64 KiB blocks as fast as it can
#   trickle       answers one byte a second
#   reset-accept  resets every connection as soon as it is accepted (SO_LINGER 0)
#   reset-mid     sends half of the right answer, then resets
#   escapes       answers with terminal escapes: clear screen, set the clipboard (OSC 52), a
#                 hyperlink (OSC 8), a C1 CSI and a bidi override
import socket, struct, sys, threading, time

mode, port = sys.argv[1], int(sys.argv[2])
started = time.time()

def alive():
    return time.time() - started < 120

def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    conn.close()

def serve(conn):
    try:
        if mode == 'reset-accept':
            return reset(conn)
        data = conn.recv(65536)
        if mode == 'flood':
            conn.sendall(data.upper())
            while alive():
                conn.sendall(b'Z' * 65536)
        elif mode == 'trickle':
            for byte in data.upper():
                if not alive():
                    break
                conn.sendall(bytes([byte]))
                time.sleep(1)
        elif mode == 'reset-mid':
            conn.sendall(data.upper()[: len(data) // 2])
            time.sleep(0.05)
            return reset(conn)
        elif mode == 'escapes':
            conn.sendall(b'\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07\x9b31m\xe2\x80\xae' + data.upper())
    except OSError:
        pass
    finally:
        conn.close()

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', port))
server.listen(64)
server.settimeout(1)
print('The server is ready to receive', flush=True)
while alive():
    try:
        conn, _ = server.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
