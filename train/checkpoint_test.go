package train

import (
	"bufio"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
)

func smallNet(t *testing.T, name string, seed uint64) *Net {
	t.Helper()
	spec := models.Spec{Kind: models.CycleGANDiscriminator, NetD: "n_layers", NLayersD: 1, InputNC: 3, NDF: 4, Norm: "instance"}
	reg, err := spec.Registry()
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNet(name, spec, nn.Init(reg, nn.InitNormal, 0.02, rand.New(rand.NewPCG(seed, 0))))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a, b := smallNet(t, "D_A", 1), smallNet(t, "D_B", 2)
	opt := NewOptimizer("opt_D", nn.DefaultAdam, a, b)
	opt.Step = 7
	for _, m := range opt.M {
		m[0] = 0.5
	}
	pool := NewImagePool(3)
	pool.Restore([][]float32{{1, 2}, {3, 4}})
	file := func(n *Net) string { return "latest_net_" + n.Name + ".safetensors" }
	st := RunState{Iter: 12, Epoch: 2, Batch: 5, Seed: 99}
	if err := saveCheckpoint(dir, "latest", []*Net{a, b}, file, []*Optimizer{opt}, map[string]*ImagePool{"A": pool}, st); err != nil {
		t.Fatal(err)
	}
	a2, b2 := smallNet(t, "D_A", 3), smallNet(t, "D_B", 4)
	opt2 := NewOptimizer("opt_D", nn.DefaultAdam, a2, b2)
	pool2 := NewImagePool(3)
	got, err := loadCheckpoint(dir, "latest", []*Net{a2, b2}, file, []*Optimizer{opt2}, map[string]*ImagePool{"A": pool2})
	if err != nil {
		t.Fatal(err)
	}
	if got.Iter != 12 || got.Epoch != 2 || got.Batch != 5 || got.Seed != 99 || opt2.Step != 7 {
		t.Fatalf("got state %+v step %d; want iter 12 epoch 2 batch 5 seed 99 step 7", got, opt2.Step)
	}
	for k, v := range a.Values {
		for i := range v {
			if a2.Values[k][i] != v[i] {
				t.Fatalf("D_A %s[%d]: got %v; want %v", k, i, a2.Values[k][i], v[i])
			}
		}
	}
	for k, m := range opt2.M {
		if m[0] != 0.5 {
			t.Fatalf("moment %s not restored", k)
		}
	}
	if imgs := pool2.Images(); len(imgs) != 2 || imgs[1][1] != 4 {
		t.Fatalf("pool: got %v; want [[1 2] [3 4]]", imgs)
	}

	// A net file from another iteration (an interrupted save) is refused.
	st.Iter = 13
	if err := saveCheckpoint(dir, "other", []*Net{a}, func(n *Net) string { return file(n) }, nil, nil, st); err != nil {
		t.Fatal(err)
	}
	if _, err := loadCheckpoint(dir, "latest", []*Net{a2, b2}, file, []*Optimizer{opt2}, nil); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("got %v; want an error about an interrupted checkpoint", err)
	}
}

func TestLossLogResumeAndPlot(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "loss_log.jsonl")
	l, err := OpenLossLog(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if err := l.Add(LossRecord{Iter: i, Epoch: 1, LR: 2e-4, Sec: 0.1, Losses: map[string]float64{"G_A": float64(i), "D_A": 1}}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	l, err = OpenLossLog(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Add(LossRecord{Iter: 4, LR: 2e-4, Losses: map[string]float64{"G_A": 40}}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	f, _ := os.Open(path)
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	f.Close()
	if len(lines) != 4 || !strings.HasPrefix(lines[0], `{"iter":1,"epoch":1,"lr":0.0002,"sec":0.1000,"D_A":1,"G_A":1}`) || !strings.Contains(lines[3], `"G_A":40`) {
		t.Fatalf("got lines %q; want iterations 1-3 kept and 4 rewritten", lines)
	}
	png1 := filepath.Join(dir, "loss.png")
	if err := l.Plot(png1, "losses", 2); err != nil {
		t.Fatal(err)
	}
	pf, err := os.Open(png1)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if _, err := png.Decode(pf); err != nil {
		t.Fatalf("loss.png: %v", err)
	}
}
