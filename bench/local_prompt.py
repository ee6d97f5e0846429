"""How often the tiny local model answers simple questions right, per system prompt (core.models.local's defaults).

    python -m bench.local_prompt            # 12 questions x 5 seeds and 3 questions about countries x 20 seeds

Serves SmolLM2-135M-Instruct with llama.cpp as `hfchat console --local` does and asks each question with the
local sampling defaults (LOCAL_SAMPLING), once per seed. "right" = the expected word is in the answer;
"French-looking" counts answers with common French words (the model drifts into French on questions about
France when told to "answer in English").
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from core.models.local import LOCAL_MAX_TOKENS, LOCAL_SAMPLING, LOCAL_SYSTEM_PROMPT

ROOT = Path(__file__).resolve().parents[1]
GENERAL = [
    ("What is the capital of France?", ["paris"]),
    ("What is the capital of Italy?", ["rome"]),
    ("What is the capital of Japan?", ["tokyo"]),
    ("How many days are in a week?", ["7", "seven"]),
    ("What color is the sky on a clear day?", ["blue"]),
    ("What is 2 + 2?", ["4", "four"]),
    ("Who wrote Romeo and Juliet?", ["shakespeare"]),
    ("What is the largest planet in the solar system?", ["jupiter"]),
    ("What gas do plants absorb from the air?", ["carbon dioxide", "co2"]),
    ("Say hello.", ["hello", "hi"]),
    ("What is the boiling point of water in Celsius?", ["100"]),
    ("Name a primary color.", ["red", "blue", "yellow"]),
]
COUNTRIES = [
    ("What is the capital of France?", ["paris"]),
    ("What is the capital of Germany?", ["berlin"]),
    ("What language is spoken in France?", ["french"]),
]
PROMPTS = {
    "shipped": LOCAL_SYSTEM_PROMPT,
    "answer in English": "You are a helpful assistant. Answer in English, briefly and accurately.",
    "briefly": "You are a helpful assistant. Answer briefly and accurately.",
}
FRENCH = (" la ", " le ", " est ", " de l")


def ask(url: str, system: str, question: str, seed: int) -> tuple[str, str]:
    body = {
        "model": "local",
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}],
        "max_tokens": LOCAL_MAX_TOKENS,
        "seed": seed,
        **LOCAL_SAMPLING,
    }
    request = urllib.request.Request(
        f"{url}/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        choice = json.load(response)["choices"][0]
    return choice["message"]["content"].lower(), choice["finish_reason"]


def main() -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "core.models.local", "--ctx", "2048", "--parallel", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        url = json.loads(server.stdout.readline())["url"].rstrip("/")
        print("| system prompt | right | French-looking | hit max_tokens |\n|---|---:|---:|---:|")
        for name, system in PROMPTS.items():
            right = french = long = total = 0
            for questions, seeds in ((GENERAL, 5), (COUNTRIES, 20)):
                for question, expected in questions:
                    for seed in range(seeds):
                        text, finish = ask(url, system, question, seed)
                        total += 1
                        right += any(word in text for word in expected)
                        french += any(word in text for word in FRENCH)
                        long += finish == "length"
            print(f"| {name}: {system!r} | {right}/{total} | {french} | {long} |", flush=True)
    finally:
        server.stdin.close()
        server.wait(10)


if __name__ == "__main__":
    main()
