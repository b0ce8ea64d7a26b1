"""Telephony adapters: each turns a platform's protocol into per-track AudioFrames."""
