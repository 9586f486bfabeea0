"""Unix sockets from Python: socketpair, multiprocessing Pipe and Queue, an asyncio unix
server and client, fd passing. Prints the same lines natively and under Moat."""
import asyncio
import multiprocessing as mp
import os
import socket
import tempfile


def socketpair_echo():
    a, b = socket.socketpair()
    a.sendall(b"ping")
    print("socketpair:", b.recv(16))
    a.close()
    print("after close:", b.recv(16))


def child_pipe(conn):
    conn.send({"n": conn.recv() + 1})
    conn.close()


def child_queue(q):
    q.put(sum(range(100)))


def multiprocessing_checks():
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=child_pipe, args=(child,))
    p.start()
    parent.send(41)
    print("pipe:", parent.recv())
    p.join()
    q = ctx.Queue()
    p = ctx.Process(target=child_queue, args=(q,))
    p.start()
    print("queue:", q.get(timeout=20))
    p.join()
    print("exit codes:", p.exitcode)


async def asyncio_checks(path):
    async def handle(reader, writer):
        data = await reader.readline()
        writer.write(data.upper())
        await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(handle, path=path)
    async with server:
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"hello asyncio\n")
        await writer.drain()
        print("asyncio:", await reader.readline())
        writer.close()
        await writer.wait_closed()


def fd_passing(path):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    pid = os.fork()
    if pid == 0:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        r, w = os.pipe()
        os.write(w, b"through a passed fd")
        os.close(w)
        socket.send_fds(c, [b"F"], [r])
        os._exit(0)
    conn, _ = srv.accept()
    msg, fds, _, _ = socket.recv_fds(conn, 1, 1)
    os.waitpid(pid, 0)
    print("fd passing:", msg, os.read(fds[0], 64))


def main():
    socketpair_echo()
    multiprocessing_checks()
    with tempfile.TemporaryDirectory() as d:
        asyncio.run(asyncio_checks(os.path.join(d, "aio.sock")))
        fd_passing(os.path.join(d, "fd.sock"))


if __name__ == "__main__":
    main()
