package ort

/*
#include <stdlib.h>
#include "capi.h"
*/
import "C"

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unsafe"
)

// EPDevice is one execution-provider device of the ORT environment
// (OrtEpDevice): an execution provider paired with a hardware device it can
// run on. The CPU provider always has one; a registered plugin adds its own
// (the CUDA plugin one per usable GPU).
type EPDevice struct {
	// EP and EPVendor are the execution provider's name
	// ("CUDAExecutionProvider") and vendor.
	EP       string `json:"ep"`
	EPVendor string `json:"ep_vendor"`
	// Hardware is "cpu", "gpu" or "npu"; Vendor, VendorID and DeviceID
	// describe the hardware device (PCI ids for GPUs).
	Hardware string `json:"hardware"`
	Vendor   string `json:"vendor"`
	VendorID uint32 `json:"vendor_id"`
	DeviceID uint32 `json:"device_id"`
	// EPMetadata, EPOptions and HardwareMetadata are the key-value lists
	// ORT keeps for the device (the EP's version, its default options, the
	// hardware's description).
	EPMetadata       map[string]string `json:"ep_metadata,omitempty"`
	EPOptions        map[string]string `json:"ep_options,omitempty"`
	HardwareMetadata map[string]string `json:"hardware_metadata,omitempty"`

	handle *C.OrtEpDevice // owned by the environment; valid for the process
}

// String formats the device for people: "CUDAExecutionProvider on gpu
// NVIDIA (10de:2335)".
func (d EPDevice) String() string {
	return fmt.Sprintf("%s on %s %s (%04x:%04x)", d.EP, d.Hardware, d.Vendor, d.VendorID, d.DeviceID)
}

// EPDevices returns the execution-provider devices of the environment, in
// ORT's order: the CPU provider's and those of the registered plugins (the
// CUDA plugin is registered by the first cuda session, CheckProvider or
// RegisterCUDAPlugin). It calls Init("") if nobody has.
func EPDevices() ([]EPDevice, error) {
	if err := Init(""); err != nil {
		return nil, err
	}
	var list **C.OrtEpDevice
	var n C.size_t
	if err := cError("get EP devices", C.ganrt_ep_devices((***C.OrtEpDevice)(unsafe.Pointer(&list)), &n)); err != nil {
		return nil, err
	}
	handles := unsafe.Slice(list, int(n))
	out := make([]EPDevice, len(handles))
	for i, h := range handles {
		d := EPDevice{
			EP:       C.GoString(C.ganrt_ep_name(h)),
			EPVendor: C.GoString(C.ganrt_ep_vendor(h)),
			Hardware: hardwareName(int(C.ganrt_hw_type(h))),
			Vendor:   C.GoString(C.ganrt_hw_vendor(h)),
			VendorID: uint32(C.ganrt_hw_vendor_id(h)),
			DeviceID: uint32(C.ganrt_hw_device_id(h)),
			handle:   h,
		}
		d.EPMetadata, d.EPOptions, d.HardwareMetadata = pairs(h, 0), pairs(h, 1), pairs(h, 2)
		out[i] = d
	}
	return out, nil
}

// RegisterCUDAPlugin registers the CUDA plugin library (see CUDAPluginPath)
// with the environment if that has not been tried yet, and returns the
// result of the one try: nil, or an error wrapping ErrProviderUnavailable
// that names the CUDA libraries that do not load.
func RegisterCUDAPlugin() error { return registerCUDAPlugin() }

func hardwareName(t int) string {
	switch t {
	case C.ganrtHardwareCPU:
		return "cpu"
	case C.ganrtHardwareGPU:
		return "gpu"
	case C.ganrtHardwareNPU:
		return "npu"
	}
	return "hardware(" + strconv.Itoa(t) + ")"
}

// pairs copies one of the device's key-value lists (see ganrt_ep_pairs).
func pairs(h *C.OrtEpDevice, which int) map[string]string {
	var keys, vals **C.char
	var n C.size_t
	C.ganrt_ep_pairs(h, C.int(which), (***C.char)(unsafe.Pointer(&keys)), (***C.char)(unsafe.Pointer(&vals)), &n)
	if n == 0 {
		return nil
	}
	m := make(map[string]string, int(n))
	ks, vs := unsafe.Slice(keys, int(n)), unsafe.Slice(vals, int(n))
	for i := range ks {
		m[C.GoString(ks[i])] = C.GoString(vs[i])
	}
	return m
}

// epDevicesOf returns the devices of execution provider ep, in the order
// their GPU ordinals are read: by a "device_id" in the device's EP options
// or metadata when the plugin gives one, else in ORT's order.
func epDevicesOf(ep string) ([]EPDevice, error) {
	all, err := EPDevices()
	if err != nil {
		return nil, err
	}
	var out []EPDevice
	for _, d := range all {
		if d.EP == ep {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b EPDevice) int { return ordinal(a, -1) - ordinal(b, -1) })
	return out, nil
}

// ordinal returns the device_id the plugin gives d, else def.
func ordinal(d EPDevice, def int) int {
	for _, m := range []map[string]string{d.EPOptions, d.EPMetadata} {
		if v, ok := m["device_id"]; ok {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
	}
	return def
}

// appendEPDevice adds execution provider device d to the session options so
// with provider options opts (ORT's names).
func appendEPDevice(so unsafe.Pointer, d EPDevice, opts map[string]string) error {
	keys := slices.Sorted(maps.Keys(opts))
	ck := make([]*C.char, len(keys)+1)
	cv := make([]*C.char, len(keys)+1)
	for i, k := range keys {
		ck[i], cv[i] = C.CString(k), C.CString(opts[k])
	}
	defer func() {
		for i := range keys {
			C.free(unsafe.Pointer(ck[i]))
			C.free(unsafe.Pointer(cv[i]))
		}
	}()
	// The slices hold C pointers only, which cgo allows to pass.
	devs := []*C.OrtEpDevice{d.handle}
	return cError(fmt.Sprintf("append %s with options %v", d, opts),
		C.ganrt_append_ep((*C.OrtSessionOptions)(so), &devs[0], 1, &ck[0], &cv[0], C.size_t(len(keys))))
}
