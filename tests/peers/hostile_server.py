# A TCP server that breaks the rules on purpose, to see that a client still ends and says what
# happened. Binds 127.0.0.1 port 0, prints "Listening on PORT", serves each connection in a
# thread as MODE says, and exits by itself after 60 s. Usage: hostile_server.py MODE
import socket, struct, sys, threading, time

mode = sys.argv[1]
started = time.time()

def alive():
    return time.time() - started < 60

def send_forever(conn, data, pause=0.0):
    while alive():
        conn.sendall(data)
        if pause:
            time.sleep(pause)

def serve(conn):
    try:
        if mode == 'reset':  # reads the message, answers nothing, resets (SO_LINGER 0 -> RST)
            conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        elif mode == 'close':  # reads the message, answers nothing, closes (FIN)
            conn.recv(65536)
        elif mode == 'endless':  # answers the message, then goes on sending forever
            conn.sendall(conn.recv(65536).upper())
            send_forever(conn, b'Z' * 65536)
        elif mode == 'longer':  # the right answer plus 10 MiB more, then a normal close
            conn.sendall(conn.recv(65536).upper() + b'X' * (10 * 1024 * 1024))
        elif mode == 'trickle':  # the right answer, one byte every 0.3 s
            for byte in conn.recv(65536).upper():
                if not alive():
                    break
                conn.sendall(bytes([byte]))
                time.sleep(0.3)
        elif mode == 'deaf':  # never reads, never sends: only the deadline ends a sender
            time.sleep(60 - (time.time() - started))
        elif mode == 'http-escapes':  # terminal escapes (ESC, and C1 CSI 0x9b) and a bare LF in the status line and Location
            conn.recv(65536)
            conn.sendall(b'HTTP/1.1 302 Moved\x1b[31mRED\x1b]0;pwned\x07\x9b2J\r\n'
                         b'Location: /next\nFAKE LINE\x1b[2J\r\nContent-Length: 0\r\n\r\n')
        elif mode == 'http-trickle':  # a head, then a body one byte every 0.3 s, forever
            conn.recv(65536)
            conn.sendall(b'HTTP/1.1 200 OK\r\n\r\n')
            send_forever(conn, b'.', 0.3)
        elif mode == 'http-endless':  # a head, then a body that never ends, as fast as it goes
            conn.recv(65536)
            conn.sendall(b'HTTP/1.1 200 OK\r\n\r\n')
            send_forever(conn, b'x' * 65536)
    except OSError:
        pass
    finally:
        conn.close()

server = socket.socket()
server.bind(('127.0.0.1', 0))
server.listen(16)
server.settimeout(1)
print('Listening on', server.getsockname()[1], flush=True)
while alive():
    try:
        conn, _ = server.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
