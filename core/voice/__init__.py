"""Voice messages: audio a person sent, checked against the limits, transcribed by a speech-recognition model, and
answered as text (the transcript is stored as the person's message)."""

from core.voice.audio import AudioKind, sniff_audio
from core.voice.service import Heard, Voice, VoiceConfig, VoiceRefused

__all__ = ["AudioKind", "Heard", "Voice", "VoiceConfig", "VoiceRefused", "sniff_audio"]
