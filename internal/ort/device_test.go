package ort

import (
	"maps"
	"testing"
)

func TestParseDevice(t *testing.T) {
	tests := []struct {
		in   string
		want Device
		ok   bool
	}{
		{"cpu", Device{Kind: KindCPU}, true},
		{" CPU ", Device{Kind: KindCPU}, true},
		{"cuda", Device{Kind: KindCUDA}, true},
		{"cuda:0", Device{Kind: KindCUDA}, true},
		{"cuda:3", Device{Kind: KindCUDA, ID: 3}, true},
		{"tensorrt", Device{Kind: KindTensorRT}, true},
		{"TensorRT:1", Device{Kind: KindTensorRT, ID: 1}, true},
		{"auto", Device{Kind: KindAuto}, true},
		{"", Device{}, false},
		{"gpu", Device{}, false},
		{"cuda:", Device{}, false},
		{"cuda:-1", Device{}, false},
		{"cuda:+1", Device{}, false},
		{"cuda:x", Device{}, false},
		{"cuda:1:2", Device{}, false},
		{"cpu:0", Device{}, false},
		{"auto:1", Device{}, false},
	}
	for _, tt := range tests {
		got, err := ParseDevice(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseDevice(%q) error = %v; want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseDevice(%q) = %+v; want %+v", tt.in, got, tt.want)
		}
	}
}

func TestDeviceStringRoundTrip(t *testing.T) {
	for _, d := range []Device{{}, {Kind: KindCUDA, ID: 2}, {Kind: KindTensorRT}, {Kind: KindAuto}} {
		got, err := ParseDevice(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDevice(%q) = %+v, %v; want %+v", d.String(), got, err, d)
		}
	}
}

func TestProviderOptionMaps(t *testing.T) {
	got := cudaProviderOptions(CUDAOptions{ConvAlgoSearch: ConvAlgoHeuristic, Extra: map[string]string{"gpu_mem_limit": "1024"}}, 1)
	want := map[string]string{"device_id": "1", "cudnn_conv_algo_search": "HEURISTIC", "gpu_mem_limit": "1024"}
	if !maps.Equal(got, want) {
		t.Errorf("cudaProviderOptions = %v; want %v", got, want)
	}
	if got := cudaProviderOptions(CUDAOptions{}, 0); !maps.Equal(got, map[string]string{"device_id": "0"}) {
		t.Errorf("default cudaProviderOptions = %v; want only device_id 0", got)
	}
	got = tensorRTProviderOptions(TensorRTOptions{FP16: true, EngineCacheDir: "/c", Extra: map[string]string{"device_id": "2"}}, 0)
	want = map[string]string{"device_id": "2", "trt_fp16_enable": "1", "trt_engine_cache_enable": "1", "trt_engine_cache_path": "/c"}
	if !maps.Equal(got, want) {
		t.Errorf("tensorRTProviderOptions = %v; want %v", got, want)
	}
}
