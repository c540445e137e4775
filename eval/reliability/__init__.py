"""Reliability harness: seeded hostile inputs (specs, COCO files), a probe that watches what a
loader opens, a worker process that runs each case under a time limit, and the kill/resume and
memory checks of the benchmark."""
