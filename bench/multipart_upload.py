"""Benchmark: the client's CPU for a multipart upload sent as aiohttp streams a form (a socket
write for each boundary, header block and value) and as one buffer (``Payload.as_bytes``, what
``providers/base.py`` and ``bot/telegram/transport.py`` send), to a server on 127.0.0.1.

The form is a Bot API ``sendDocument``'s shape: four short fields and a 100 kB file. CPU time is
the client process's over --requests requests after 50 to warm up; the server runs in a process
of its own.

    python bench/multipart_upload.py [--requests 300] [--rounds 2]

Not a test: it prints Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

import aiohttp
from aiohttp import web

FILE = os.urandom(100_000)
FIELDS = ("chat_id", "caption", "parse_mode", "reply_markup")


async def serve(port: int) -> None:
    async def read_all(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/", read_all)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


def form() -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name in FIELDS:
        data.add_field(name, "12345")
    data.add_field("document", FILE, filename="photo.jpg", content_type="image/jpeg")
    return data


async def cpu_per_request(port: int, buffered: bool, requests: int) -> float:
    """Milliseconds of this process's CPU a request."""
    url = f"http://127.0.0.1:{port}/"
    async with aiohttp.ClientSession() as session:
        for warm in (True, False):
            started = time.process_time()
            for _ in range(50 if warm else requests):
                body: aiohttp.FormData | bytes = form()
                headers = None
                if buffered:
                    payload = form()()
                    body, headers = await payload.as_bytes(), {"Content-Type": payload.content_type}
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
    return (time.process_time() - started) / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    loop_factory = None
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        pass
    if args.serve:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(serve(args.serve))
        return
    port = 18765
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        results: dict[bool, list[float]] = {False: [], True: []}
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            for _ in range(args.rounds):
                for buffered in (False, True):
                    results[buffered].append(runner.run(cpu_per_request(port, buffered, args.requests)))
    finally:
        server.terminate()
    print("| a sendDocument-shaped upload (4 fields, 100 kB) | client CPU per request |")
    print("|---|---|")
    for buffered, label in ((False, "aiohttp streams the form"), (True, "one buffer (`as_bytes`)")):
        figures = " · ".join(f"{value:.2f}" for value in results[buffered])
        print(f"| {label} | {figures} ms |")


if __name__ == "__main__":
    main()
