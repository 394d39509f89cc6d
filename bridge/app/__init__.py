"""The pipeline assembled: the processor, the one run loop, streaming, batch processing."""
