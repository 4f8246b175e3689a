package models

import (
	"testing"

	"github.com/ganrt/ganrt/ckpt"
)

// stateOf returns a state dict with zero tensors for every entry of spec.
func stateOf(t *testing.T, s Spec) *ckpt.StateDict {
	t.Helper()
	reg, err := s.Registry()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string][]float32{}
	for _, e := range reg.Entries {
		values[e.Name] = make([]float32, e.Shape.Size())
	}
	sd, err := s.StateDict(values)
	if err != nil {
		t.Fatal(err)
	}
	delete(sd.Metadata, MetadataKey)
	return sd
}

// TestDetect checks that every kind of network, in every norm, is
// recognized from its keys and shapes alone.
func TestDetect(t *testing.T) {
	specs := []Spec{
		{Kind: CycleGANGenerator, NetG: "resnet_6blocks", InputNC: 3, OutputNC: 3, NGF: 8, Norm: "instance"},
		{Kind: CycleGANGenerator, NetG: "resnet_6blocks", InputNC: 3, OutputNC: 3, NGF: 8, Norm: "batch"},
		{Kind: CycleGANGenerator, NetG: "resnet_9blocks", InputNC: 1, OutputNC: 3, NGF: 4, Norm: "none", Dropout: true},
		{Kind: CycleGANGenerator, NetG: "resnet_6blocks", InputNC: 3, OutputNC: 3, NGF: 4, Norm: "batch", Dropout: true},
		{Kind: CycleGANGenerator, NetG: "unet_128", InputNC: 3, OutputNC: 3, NGF: 4, Norm: "batch", DropoutUnknown: true},
		{Kind: CycleGANGenerator, NetG: "unet_256", InputNC: 3, OutputNC: 3, NGF: 4, Norm: "instance", DropoutUnknown: true},
		{Kind: CycleGANDiscriminator, NetD: "basic", NLayersD: 3, InputNC: 3, NDF: 8, Norm: "instance"},
		{Kind: CycleGANDiscriminator, NetD: "basic", NLayersD: 3, InputNC: 3, NDF: 8, Norm: "batch"},
		{Kind: CycleGANDiscriminator, NetD: "n_layers", NLayersD: 5, InputNC: 3, NDF: 4, Norm: "batch"},
		{Kind: CycleGANDiscriminator, NetD: "pixel", InputNC: 3, NDF: 8, Norm: "batch"},
		{Kind: StarGANGenerator, ConvDim: 8, CDim: 5, RepeatNum: 2},
		{Kind: StarGANDiscriminator, ImageSize: 64, ConvDim: 8, CDim: 3, RepeatNum: 4},
	}
	for _, want := range specs {
		got, err := Detect(stateOf(t, want))
		if err != nil {
			t.Errorf("%s: %v", want, err)
			continue
		}
		if got.JSON() != want.JSON() {
			t.Errorf("got %s; want %s", got.JSON(), want.JSON())
		}
	}
}

// TestDetectUNetDropout checks that a U-Net with dropout, whose keys are
// those of one without, is detected with dropout unknown, not as "dropout
// false".
func TestDetectUNetDropout(t *testing.T) {
	got, err := Detect(stateOf(t, Spec{Kind: CycleGANGenerator, NetG: "unet_256", InputNC: 3, OutputNC: 3, NGF: 4, Norm: "batch", Dropout: true}))
	if err != nil {
		t.Fatal(err)
	}
	want := "CycleGAN generator unet_256 (ngf 4, norm batch, dropout unknown (not visible in the keys), 3->3 channels)"
	if !got.DropoutUnknown || got.Dropout || got.String() != want {
		t.Fatalf("got %s (%s); want %s", got, got.JSON(), want)
	}
}
