package models

// HairColors are CelebA's hair-colour attributes, which StarGAN's test-time
// targets treat as mutually exclusive.
var HairColors = []string{"Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair"}

// GridTargets returns the reference's test-time target labels for a source
// label src of a model whose label entries are names: one target per entry.
// With singleLabel (one domain per image) target i is one-hot i. Otherwise
// target i copies src and, when entry i is in the exclusive group (hair
// colours by default), sets it to 1 and the rest of the group to 0; any
// other entry is flipped.
func GridTargets(src []float32, names, exclusive []string, singleLabel bool) [][]float32 {
	inGroup := make([]bool, len(names))
	for i, n := range names {
		for _, e := range exclusive {
			inGroup[i] = inGroup[i] || n == e
		}
	}
	targets := make([][]float32, len(src))
	for i := range src {
		t := make([]float32, len(src))
		switch {
		case singleLabel:
			t[i] = 1
		case inGroup[i]:
			copy(t, src)
			for j := range t {
				if inGroup[j] {
					t[j] = 0
				}
			}
			t[i] = 1
		default:
			copy(t, src)
			t[i] = 1 - t[i]
		}
		targets[i] = t
	}
	return targets
}
