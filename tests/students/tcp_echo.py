# An echo server: the student forgot the upper() (the reply is what was sent). Otherwise a good
# server: a thread per client, recv() in a loop. Usage: tcp_echo.py PORT
import socket, sys, threading

def serve(conn, addr):
    with conn:
        while True:
            try:
                data = conn.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
            conn.sendall(data)

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', int(sys.argv[1])))
server.listen()
print('The server is ready to receive', flush=True)
while True:
    conn, addr = server.accept()
    threading.Thread(target=serve, args=(conn, addr), daemon=True).start()
