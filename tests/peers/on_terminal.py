# Runs a program with a pseudo-terminal as its stdin (as when a student types), waits until it
# has written TEXT (by default the prompt, "sentence: "), then types LINE and Enter, and prints
# everything it wrote to the terminal. LINE ^C or ^D presses Ctrl-C or Ctrl-D instead.
# Usage: on_terminal.py [--after TEXT] LINE PROG ARGS...
import os, pty, sys, select, time
args = sys.argv[1:]
text = b'sentence: '
if args[0] == '--after':
    text, args = args[1].encode(), args[2:]
line, argv = args[0], args[1:]
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
    if not answered and text in seen:
        keys = {'^C': b'\x03', '^D': b'\x04'}.get(line, line.encode() + b'\n')
        os.write(fd, keys)
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status))
