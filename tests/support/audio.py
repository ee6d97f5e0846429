"""Real audio files made by the tests, in the platforms' own formats: a Discord voice message is Ogg/Opus (48 kHz
mono), a Slack audio clip an MP4 container with one AAC track, an uploaded recording may be WAV. The sound is a few
tones, encoded by FFmpeg's own encoders (PyAV's wheel ships them); nothing is downloaded."""

from __future__ import annotations

import io

import av
import numpy as np

FORMATS = {
    # name: (container, codec, sample rate)
    "ogg": ("ogg", "libopus", 48_000),
    "m4a": ("mp4", "aac", 44_100),
    "wav": ("wav", "pcm_s16le", 16_000),
}


def tones(seconds: float, rate: int, pitches: tuple[float, ...] = (440.0, 660.0, 550.0)) -> np.ndarray:
    """A short melody (one pitch after another), 16-bit mono."""
    t = np.arange(int(rate * seconds)) / rate
    step = max(1, len(t) // len(pitches))
    wave = np.concatenate([np.sin(2 * np.pi * p * t[i * step : (i + 1) * step]) for i, p in enumerate(pitches)])
    wave = np.pad(wave, (0, len(t) - len(wave)))
    return (0.3 * wave * 32767).astype(np.int16).reshape(1, -1)


def make_audio(kind: str = "ogg", seconds: float = 3.0, pitches: tuple[float, ...] = (440.0, 660.0, 550.0)) -> bytes:
    """`seconds` of audio as a file of `kind` (ogg: Ogg/Opus, m4a: MP4/AAC, wav: PCM)."""
    container, codec, rate = FORMATS[kind]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(tones(seconds, rate, pitches), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def decoded_seconds(data: bytes) -> float:
    """How long the audio plays, by decoding every frame (what a speech model does with it)."""
    samples, rate = 0, 0
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(audio=0):
            samples += frame.samples
            rate = frame.sample_rate
    if not rate:
        raise ValueError("no audio")
    return samples / rate


def waveform(seconds: float) -> str:
    """A Discord voice message's `waveform`: base64 of up to 256 one-byte amplitudes."""
    import base64

    return base64.b64encode(bytes([min(255, 40 + (i * 37) % 200) for i in range(min(256, int(seconds * 10)))])).decode()
