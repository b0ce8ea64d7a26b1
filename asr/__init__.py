"""Streaming speech recognition for live call audio: codecs, VAD, engines, transcriber."""
