#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, answers its "password: " prompt with argv[1], and prints
everything the terminal showed (so a test can check the password was not echoed). Exits with the
command's exit code."""
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b''
deadline = time.time() + 20
while b'password: ' not in out and time.time() < deadline:
    out += os.read(fd, 1024)
os.write(fd, sys.argv[1].encode() + b'\r')
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status))
