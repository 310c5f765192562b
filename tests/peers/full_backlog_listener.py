# A listener that never accepts, with its accept queue filled: Linux then silently drops new SYNs,
# so a client's connect neither succeeds nor is refused -- it times out. Prints the port, then
# "Listening on"; exits by itself after 30 s.
import socket, time
server = socket.socket()
server.bind(('127.0.0.1', 0))
server.listen(0)
port = server.getsockname()[1]
fillers = []
for _ in range(3):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(('127.0.0.1', port))
    except BlockingIOError:
        pass
    fillers.append(c)
time.sleep(0.2)
print('Listening on', port, flush=True)
time.sleep(30)
