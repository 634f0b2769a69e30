"""Deduplication math, pure (no Beam): text MinHash signatures and LSH band keys, connected
components reducers and a union-find reference, the keep/drop policy per cluster, eval-set
decontamination, and a thin wrapper over the audio fingerprint. The Beam transforms that run
them at corpus scale are in ``pipelines/stages/dedup.py``."""
