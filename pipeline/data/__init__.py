"""Datasets: registry, source readers, the procedural sample line, COCO/YOLO files, budgets."""
