"""Reliability harness: seeded hostile inputs (specs, COCO files), a probe that runs a loader under
a time limit and watches what it opens, and the kill/resume and memory checks of the benchmark."""
