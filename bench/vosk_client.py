#!/usr/bin/env python3
"""vosk-server's ``websocket/test.py``, pointed at CareCue's vosk-compatible ``/v1/asr``.

The loop is the same as vosk-server's own test client: send the config with the wav's rate,
then 0.2 s chunks of the wav's PCM, printing one reply per chunk, then ``{"eof" : 1}`` and the
final result. Only the URI differs (path and token)::

    CARECUE_TOKEN=$(carecue token create --role ingest) \
        python3 bench/vosk_client.py call.wav [ws://localhost:8080/v1/asr]

The wav must be 16-bit mono PCM, as for vosk-server.
"""

import asyncio
import os
import sys
import wave

import websockets


async def run_test(uri):
    async with websockets.connect(uri) as websocket:

        wf = wave.open(sys.argv[1], "rb")
        # Byte for byte what vosk-server's test.py sends.
        await websocket.send('{ "config" : { "sample_rate" : %d } }' % (wf.getframerate()))  # noqa: UP031
        buffer_size = int(wf.getframerate() * 0.2)  # 0.2 seconds of audio
        while True:
            data = wf.readframes(buffer_size)

            if len(data) == 0:
                break

            await websocket.send(data)
            print(await websocket.recv())

        await websocket.send('{"eof" : 1}')
        print(await websocket.recv())


if __name__ == "__main__":
    base = sys.argv[2] if len(sys.argv) > 2 else "ws://localhost:8080/v1/asr"
    token = os.environ.get("CARECUE_TOKEN", "")
    asyncio.run(run_test(f"{base}?token={token}" if token else base))
