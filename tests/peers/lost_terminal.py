# Runs a program whose stdout is a terminal that is already gone: the other end of its
# pseudo-terminal is closed before the program starts, so every write to stdout fails with EIO,
# as after the terminal window it was started from was closed (without the SIGHUP: the program
# gets a session of its own, with no controlling terminal). Usage: lost_terminal.py PROG ARGS...
import os, sys
master, slave = os.openpty()
os.dup2(slave, 1)
os.close(slave)
os.close(master)
os.setsid()
os.execv(sys.argv[1], sys.argv[1:])
