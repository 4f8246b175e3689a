package data

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pyGolden is testdata/pyrandom.json, written by testdata/gen_pyrandom.py.
type pyGolden struct {
	Python string `json:"python"`
	Seeds  []struct {
		Seed     string           `json:"seed"`
		Words    []uint32         `json:"words"`
		Bits     []string         `json:"bits"`
		Shuffles map[string][]int `json:"shuffles"`
		SHA      string           `json:"sha256_202599"`
		Head     []int            `json:"head_202599"`
	} `json:"seeds"`
	CelebA struct {
		Selected []string    `json:"selected"`
		Test     [][2]string `json:"test"`
		Train    [][2]string `json:"train"`
	} `json:"celeba"`
}

func readPyGolden(t *testing.T) pyGolden {
	t.Helper()
	b, err := os.ReadFile("testdata/pyrandom.json")
	if err != nil {
		t.Fatal(err)
	}
	var g pyGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestPyRandomMatchesPython checks random.seed + getrandbits + shuffle
// against CPython, including a shuffle of CelebA's 202,599 entries.
func TestPyRandomMatchesPython(t *testing.T) {
	g := readPyGolden(t)
	for _, s := range g.Seeds {
		seed, err := strconv.ParseUint(s.Seed, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		r := newPyRandom(seed)
		for i, w := range s.Words {
			if got := r.uint32(); got != w {
				t.Fatalf("seed %d word %d: got %d; want %d (Python %s)", seed, i, got, w, g.Python)
			}
		}
		r = newPyRandom(seed)
		for i, k := range []int{1, 7, 31, 33, 64} {
			if got := strconv.FormatUint(r.getrandbits(k), 10); got != s.Bits[i] {
				t.Errorf("seed %d getrandbits(%d): got %s; want %s", seed, k, got, s.Bits[i])
			}
		}
		for ns, want := range s.Shuffles {
			n, _ := strconv.Atoi(ns)
			x := make([]int, n)
			for i := range x {
				x[i] = i
			}
			pyShuffle(newPyRandom(seed), x)
			if !slices.Equal(x, want) {
				t.Errorf("seed %d shuffle(range(%d)): got %v; want %v", seed, n, x, want)
			}
		}
		x := make([]int, 202599)
		for i := range x {
			x[i] = i
		}
		pyShuffle(newPyRandom(seed), x)
		if !slices.Equal(x[:10], s.Head) {
			t.Errorf("seed %d shuffle(range(202599))[:10]: got %v; want %v", seed, x[:10], s.Head)
		}
		var sb strings.Builder
		for i, v := range x {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprint(&sb, v)
		}
		sum := sha256.Sum256([]byte(sb.String()))
		if got := hex.EncodeToString(sum[:]); got != s.SHA {
			t.Errorf("seed %d shuffle(range(202599)): sha256 %s; want %s", seed, got, s.SHA)
		}
	}
}
