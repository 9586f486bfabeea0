"""Python http.server on 127.0.0.1 (and ::1) with a urllib client in the same process tree:
a GET, a POST with a body, a 404, a raw socket client half-closing, and `python3 -m
http.server` in a child process serving a file to this one. Prints the same lines
natively and under Moat (ports are ephemeral, so they are not printed)."""
import http.server
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/hello":
            self.send_error(404)
            return
        body = b"hello from http.server\n" * 1000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        data = self.rfile.read(int(self.headers["Content-Length"]))
        body = b"got %d bytes, sum %d\n" % (len(data), sum(data))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve(server_class, host):
    server = server_class((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fetch(url, data=None):
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as r:
            body = r.read()
            return r.status, len(body), body[:22]
    except urllib.error.HTTPError as e:
        return e.code, 0, b""


def main():
    for name, cls, host, fmt in (("v4", http.server.ThreadingHTTPServer, "127.0.0.1", "http://127.0.0.1:%d"),
                                 ("v6", Server6, "::1", "http://[::1]:%d")):
        server = serve(cls, host)
        base = fmt % server.server_address[1]
        print(name, "GET", fetch(base + "/hello"))
        print(name, "POST", fetch(base + "/post", data=bytes(range(256)) * 400))
        print(name, "404", fetch(base + "/missing"))
        with socket.create_connection((host, server.server_address[1])) as s:
            s.sendall(b"GET /hello HTTP/1.0\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
            print(name, "raw", reply.split(b"\r\n", 1)[0], len(reply) > 23000)
        server.shutdown()
        server.server_close()
    try:
        socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5)
    except ConnectionRefusedError as e:
        print("closed port:", type(e).__name__)



def child_server():
    """`python3 -m http.server` in another process, serving this directory."""
    here = os.path.dirname(os.path.abspath(__file__))
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    child = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", here,
                              str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except ConnectionRefusedError:
                threading.Event().wait(0.05)
        status, size, head = fetch("http://127.0.0.1:%d/http_loopback.py" % port)
        print("child server:", status, size == os.path.getsize(__file__), head)
    finally:
        child.terminate()
        child.wait()


main()
child_server()
