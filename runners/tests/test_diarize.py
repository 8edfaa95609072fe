"""The diarizer's pure logic: windows over speech, the linkage and its cut, the speaker count, and
naming clusters after known speakers. Run: python -m unittest discover runners/tests"""

from __future__ import annotations

import unittest

import numpy as np

from dalston_runners.diarize import (
    DiarizeRequest, average_linkage, choose_count, cut, match_known, parse_references, windows_of,
)
from dalston_runners.protocol import RequestError


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


class WindowTests(unittest.TestCase):
    def test_short_regions_are_skipped_or_one_window_and_long_ones_end_at_their_edge(self) -> None:
        windows = windows_of([(0.0, 0.3), (1.0, 2.0), (3.0, 6.0)], hop=0.75)
        self.assertEqual(windows[0], (1.0, 2.0))
        self.assertEqual(windows[1], (3.0, 4.5))
        self.assertEqual(windows[-1], (4.5, 6.0))
        self.assertTrue(all(end - start <= 1.5 + 1e-9 for start, end in windows))


class ClusteringTests(unittest.TestCase):
    def setUp(self) -> None:
        # Two voices: three windows near x, two near y.
        self.vectors = np.stack([unit(1, 0.05, 0), unit(1, -0.05, 0), unit(1, 0, 0.05), unit(0, 1, 0.05), unit(0.05, 1, 0)])
        self.merges = average_linkage(self.vectors)

    def test_the_closest_windows_merge_first_and_the_last_merge_joins_the_voices(self) -> None:
        distances = [distance for _, _, distance in self.merges]
        self.assertEqual(distances, sorted(distances))
        self.assertGreater(distances[-1], 0.6)
        labels = cut(5, self.merges, 2)
        self.assertEqual(len(set(labels[:3])), 1)
        self.assertEqual(len(set(labels[3:])), 1)
        self.assertNotEqual(labels[0], labels[3])

    def test_the_count_is_found_by_the_threshold_and_bounded_by_the_request(self) -> None:
        self.assertEqual(choose_count(5, self.merges, DiarizeRequest(id="t", audio="a")), 2)
        self.assertEqual(choose_count(5, self.merges, DiarizeRequest(id="t", audio="a", num_speakers=4)), 4)
        self.assertEqual(choose_count(5, self.merges, DiarizeRequest(id="t", audio="a", max_speakers=1)), 1)
        self.assertEqual(choose_count(5, self.merges, DiarizeRequest(id="t", audio="a", min_speakers=3)), 3)
        self.assertEqual(choose_count(5, self.merges, DiarizeRequest(id="t", audio="a", num_speakers=9)), 5)


class KnownSpeakerTests(unittest.TestCase):
    def test_each_name_goes_to_its_nearest_cluster_once_and_only_within_the_threshold(self) -> None:
        centroids = {0: unit(1, 0, 0), 4: unit(0, 1, 0), 7: unit(0, 0, 1)}
        voices = {"agent": unit(0.1, 1, 0), "customer": unit(1, 0.2, 0), "stranger": unit(1, 1, 1)}
        self.assertEqual(match_known(centroids, voices, threshold=0.3), {4: "agent", 0: "customer"})
        # The stranger lies 0.42 from each cluster: a looser threshold lets it take the one left.
        self.assertEqual(match_known(centroids, voices, threshold=0.5)[7], "stranger")

    def test_two_names_near_one_cluster_the_nearer_takes_it(self) -> None:
        centroids = {0: unit(1, 0, 0), 1: unit(0, 0, 1)}
        voices = {"near": unit(1, 0.05, 0), "nearish": unit(1, 0.3, 0)}
        self.assertEqual(match_known(centroids, voices, threshold=0.3), {0: "near"})

    def test_references_need_a_name_and_a_file_and_distinct_names(self) -> None:
        self.assertEqual([r.name for r in parse_references([{"name": "a", "audio": "/x.wav"}])], ["a"])
        self.assertEqual(parse_references(None), [])
        for bad in ("x", [{"name": "a"}], [{"name": "", "audio": "/x"}], [{"name": "a", "audio": "/x"}, {"name": "a", "audio": "/y"}]):
            with self.assertRaises(RequestError):
                parse_references(bad)

    def test_a_request_reads_its_references_and_match_threshold(self) -> None:
        request = DiarizeRequest.parse({"id": "t", "audio": "/a.wav", "match_threshold": 0.25, "references": [{"name": "a", "audio": "/r.wav"}]})
        self.assertEqual(request.match_threshold, 0.25)
        self.assertEqual(request.references[0].audio, "/r.wav")


if __name__ == "__main__":
    unittest.main()
