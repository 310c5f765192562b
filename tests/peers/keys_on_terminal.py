# Runs a program on a pseudo-terminal (as in a student's terminal window), waits until it has
# written TEXT, presses KEY (^C or ^D), and prints everything the terminal showed.
# Usage: keys_on_terminal.py TEXT KEY PROG ARGS...
import os, pty, sys, select, time
text, key, argv = sys.argv[1].encode(), sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
seen, pressed, deadline = b'', False, time.time() + 10
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        seen += data
    if not pressed and text in seen:
        os.write(fd, {'^C': b'\x03', '^D': b'\x04'}[key])
        pressed = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status))
