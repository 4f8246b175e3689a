// Package nn holds the building blocks that the networks, losses and
// optimizers of ganrt are made of, written against the graph IR: layers that
// declare their parameters under the reference implementations' state-dict
// keys, the GAN losses, and PyTorch's Adam as graph nodes.
package nn
