# pty.spawn and os.openpty, compared native vs moat by e2e.python3_pty (tests/e2e/CMakeLists.txt).
import os
import pty
import termios

status = pty.spawn(["/bin/sh", "-c", "echo hi; tty; stty size; stty -a | head -1 | cut -d';' -f2-3"])
print("status", status)

m, s = os.openpty()
os.write(m, b"line one\n")
print(os.read(s, 100), os.isatty(s), os.ttyname(s).startswith("/dev/pts/"))
print(os.read(m, 100))
attrs = termios.tcgetattr(s)
attrs[3] &= ~(termios.ICANON | termios.ECHO)
termios.tcsetattr(s, termios.TCSANOW, attrs)
os.write(m, b"raw")
print(os.read(s, 100))
os.close(s)
try:
    os.read(m, 100)
except OSError as e:
    print("master after slave close:", e.strerror)
