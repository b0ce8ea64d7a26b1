"""ASR engines behind one protocol (see ``asr.engines.base``)."""
