package ort

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRunContext runs with a live context (the result of Run) and with an
// ended one (nothing runs; the error wraps the context's), with and
// without I/O binding. A run ended midway is tested in package serve
// (TestTimeoutCancelsRun), on a model of many kernels: ORT checks the
// terminate flag between kernels.
func TestRunContext(t *testing.T) {
	for _, bind := range []BindingMode{BindNever, BindAlways} {
		s := newSession(t, addReluModel(t), SessionOptions{IntraOpThreads: 1, Binding: bind})
		a := Tensor{Shape: []int64{2, 3}, Data: ramp(6, 1, -4)}
		b := Tensor{Shape: []int64{2, 3}, Data: ramp(6, -0.5, 1)}
		want := make([]float32, 6)
		for i := range want {
			want[i] = max(0, a.Data[i]+b.Data[i])
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		y := NewTensor(2, 3)
		if err := s.RunContext(ctx, []Tensor{a, b}, []Tensor{y}); err != nil {
			t.Fatalf("binding %v: live context: %v", bind, err)
		}
		assertClose(t, y.Data, want, 0)
		cancel()
		y = NewTensor(2, 3)
		err := s.RunContext(ctx, []Tensor{a, b}, []Tensor{y})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("binding %v: ended context: %v; want context.Canceled", bind, err)
		}
		for _, v := range y.Data {
			if v != 0 {
				t.Fatalf("binding %v: ended context: the model ran (%v)", bind, y.Data)
			}
		}
	}
}
