# A threaded Python uppercase server at C speed: 64 KiB reads, bytes.upper(), sendall; one thread
# per connection; closes after the client half-closes. The fast-Python baseline for streams.
# usage: python_upper_server.py HOST PORT
import socket, sys, threading

def serve(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data.upper())

server = socket.create_server((sys.argv[1], int(sys.argv[2])), backlog=1024)
print('Listening on', sys.argv[1], sys.argv[2], flush=True)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
