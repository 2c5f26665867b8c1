"""Near-duplicates and same-scene groups: fingerprint index, local features, clusters.

Stage one compares PDQ fingerprints (with all eight rotations/reflections) through a FAISS
binary index; stage two verifies a short list of harder candidates (crops, rotations, other
shots of the same scene, shots by the same camera within seconds) with local features and a
RANSAC homography. Links and their evidence are stored; clusters are assembled from the links
and from people's split/merge decisions, which are ledger events and survive recomputation.
"""

from __future__ import annotations

#: Keypoints kept per image for the local-feature stage. Matching cost grows with the square
#: of this: 500 matches in 2-4 ms instead of 9-13 ms. geometry's thresholds were calibrated at
#: 1000; at 500 fewer pairs reach its "strong" inlier count, so this is the more conservative
#: setting (same precision on the demo and tests, slightly lower recall on heavy damage).
FEATURES = 500
