"""A stub OpenAI-compatible chat endpoint (for tests and the overhead benchmark, never the only test).

It answers instantly, so tests check the orchestration around a model without the model's own
latency. In ``echo`` mode (the default) it answers with the first sentence of passage [1] of its
prompt, as a perfectly grounded model would, followed by an invented claim that the verifier
must drop; in ``fixed`` mode with ``reply``. It can be told to fail or stall.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (an abandoned stream, a killed worker) is a case the stub
    serves on purpose, not an error to print a traceback for."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StubModel:
    INVENTED = "Our premium members also receive a free 47 kg pony."

    def __init__(self, reply: str = "According to the passages, the answer is stated there [1].") -> None:
        self.reply = reply
        self.mode = "echo"  # "echo" | "fixed" | "fail" | "stall"
        self.streamed: list[bool] = []  # per call, whether it asked for a stream
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._send(200, b'{"status":"ok"}', "application/json")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.streamed.append(bool(body.get("stream")))
                if stub.mode == "fail":
                    self._send(503, b'{"error":"stub failure"}', "application/json")
                    return
                if stub.mode == "stall":
                    time.sleep(30)
                words = stub.answer(body).split(" ")
                if body.get("stream"):
                    # chunked, so the connection stays open for the next call, as TGI and
                    # llama-server keep it: a reconnect per call is no cost of ours to measure
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    for i, w in enumerate(words):
                        piece = w if i == 0 else " " + w
                        chunk = {
                            "id": "stub", "object": "chat.completion.chunk", "created": 0, "model": "stub",
                            "system_fingerprint": "stub",
                            "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece},
                                         "finish_reason": None, "logprobs": None}],
                        }  # fmt: skip
                        self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                    self._chunk(b"data: [DONE]\n\n")
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                out = {
                    "id": "stub", "object": "chat.completion", "created": 0, "model": "stub",
                    "system_fingerprint": "stub",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": stub.answer(body)},
                                 "finish_reason": "stop", "logprobs": None}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": len(words), "total_tokens": 10 + len(words)},
                }  # fmt: skip
                self._send(200, json.dumps(out).encode(), "application/json")

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

            def _send(self, code: int, data: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def calls(self) -> int:
        return len(self.streamed)

    def answer(self, body: dict[str, Any]) -> str:
        if self.mode != "echo":
            return self.reply
        system = next(
            (m.get("content", "") for m in body.get("messages", []) if m.get("role") == "system"), ""
        )
        match = re.search(r"\[1\] (.+?[.!?])(?:\s|$)", str(system))
        first = match.group(1) if match else self.reply
        return f"{first} [1] {self.INVENTED}"

    def __enter__(self) -> StubModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
