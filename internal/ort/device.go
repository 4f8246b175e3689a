package ort

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is the kind of execution provider a Device asks for.
type Kind int

const (
	// KindCPU runs on ORT's CPU provider. It is the zero value.
	KindCPU Kind = iota
	// KindCUDA runs on ORT's CUDA provider (nodes it lacks run on the CPU).
	KindCUDA
	// KindTensorRT runs on ORT's TensorRT provider, with CUDA and then the CPU
	// for nodes TensorRT does not take.
	KindTensorRT
	// KindAuto tries CUDA on GPU 0 and falls back to the CPU, recording why.
	KindAuto
)

// String returns the kind's name as ParseDevice accepts it.
func (k Kind) String() string {
	switch k {
	case KindCPU:
		return "cpu"
	case KindCUDA:
		return "cuda"
	case KindTensorRT:
		return "tensorrt"
	case KindAuto:
		return "auto"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Device selects where a Session runs. The zero value is the CPU.
type Device struct {
	// Kind is the execution provider asked for.
	Kind Kind
	// ID is the GPU ordinal for KindCUDA and KindTensorRT (the N of
	// "cuda:N"); it is 0 for the other kinds.
	ID int
}

// String returns the device in ParseDevice's syntax: "cpu", "auto", "cuda:0",
// "tensorrt:1".
func (d Device) String() string {
	switch d.Kind {
	case KindCUDA, KindTensorRT:
		return d.Kind.String() + ":" + strconv.Itoa(d.ID)
	}
	return d.Kind.String()
}

// ParseDevice parses a device name: "cpu", "cuda", "cuda:N", "tensorrt",
// "tensorrt:N" or "auto" (case and surrounding spaces are ignored; "cuda" is
// "cuda:0"). N is a GPU ordinal, 0 or more.
func ParseDevice(s string) (Device, error) {
	name, idx, hasIdx := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	var d Device
	switch name {
	case "cpu":
		d.Kind = KindCPU
	case "cuda":
		d.Kind = KindCUDA
	case "tensorrt":
		d.Kind = KindTensorRT
	case "auto":
		d.Kind = KindAuto
	default:
		return Device{}, fmt.Errorf("ort: unknown device %q: want cpu, cuda[:N], tensorrt[:N] or auto", s)
	}
	if !hasIdx {
		return d, nil
	}
	if d.Kind != KindCUDA && d.Kind != KindTensorRT {
		return Device{}, fmt.Errorf("ort: device %q: only cuda and tensorrt take a GPU index", s)
	}
	id, err := strconv.Atoi(idx)
	if err != nil || id < 0 || idx == "" || idx[0] == '+' {
		return Device{}, fmt.Errorf("ort: device %q: GPU index %q is not a number 0 or more", s, idx)
	}
	d.ID = id
	return d, nil
}
