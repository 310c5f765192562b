# Runs a program with a pseudo-terminal as its stdin (as when a student types), answers its prompt
# with one line, and prints everything it wrote to the terminal. Usage: on_terminal.py LINE PROG ARGS...
# LINE ^C or ^D presses Ctrl-C or Ctrl-D at the prompt instead of typing a line.
import os, pty, sys, select, time
line, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
seen, answered, deadline = b'', False, time.time() + 10
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
    if not answered and b'sentence: ' in seen:
        keys = {'^C': b'\x03', '^D': b'\x04'}.get(line, line.encode() + b'\n')
        os.write(fd, keys)
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status))
