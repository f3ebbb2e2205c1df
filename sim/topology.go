package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
)

// buildTopology connects n nodes: a random tree first, so the graph is
// connected, then each node dials random peers until it has dialled k.
// k == 0, or k >= n-1, connects every pair. Peer lists are sorted.
func buildTopology(n, k int, r *rand.Rand) [][]int {
	peers := make([][]int, n)
	if k == 0 || k >= n-1 {
		for i := range peers {
			for j := 0; j < n; j++ {
				if j != i {
					peers[i] = append(peers[i], j)
				}
			}
		}
		return peers
	}
	linked := make([]map[int]bool, n)
	for i := range linked {
		linked[i] = make(map[int]bool)
	}
	dialled := make([]int, n)
	link := func(a, b int) {
		linked[a][b], linked[b][a] = true, true
		peers[a] = append(peers[a], b)
		peers[b] = append(peers[b], a)
	}
	for i := 1; i < n; i++ {
		link(i, r.IntN(i))
		dialled[i]++
	}
	for i := 0; i < n; i++ {
		for tries := 0; dialled[i] < k && tries < 100*k; tries++ {
			j := r.IntN(n)
			if j != i && !linked[i][j] {
				link(i, j)
				dialled[i]++
			}
		}
	}
	for i := range peers {
		slices.Sort(peers[i])
	}
	return peers
}

// splitSides puts round(fraction*n) nodes, chosen at random, on side 0 and
// the rest on side 1, with at least one node on each side.
func splitSides(n int, fraction float64, r *rand.Rand) []uint8 {
	perm := r.Perm(n)
	first := min(max(int(math.Round(fraction*float64(n))), 1), n-1)
	sides := make([]uint8, n)
	for i, node := range perm {
		if i >= first {
			sides[node] = 1
		}
	}
	return sides
}

// userKeySeed derives the private key bytes of traffic user i for a seed.
func userKeySeed(seed uint64, i int) [32]byte {
	var b [24]byte
	copy(b[:8], "simuser:")
	binary.BigEndian.PutUint64(b[8:16], seed)
	binary.BigEndian.PutUint64(b[16:], uint64(i))
	return sha256.Sum256(b[:])
}
