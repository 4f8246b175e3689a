package export

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/ganrt/ganrt/models"
)

var tritonStarDomains = []string{"Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"}

const wantCycleGANConfig = `# Triton Inference Server model configuration, written by ` + "`ganrt export --triton`" + `.
# CycleGAN generator resnet_6blocks (ngf 8, norm instance, dropout false, 3->3 channels).
# Pixels are RGB float32 in [-1,1]: x/127.5 - 1 in, (y+1)*127.5 out.
# Height and width: multiples of 4 (pad others by reflection, crop the output back).
name: "cyclegan_resnet6_ngf8"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [
  {
    name: "image"
    data_type: TYPE_FP32
    dims: [ 3, -1, -1 ]
  }
]
output [
  {
    name: "output"
    data_type: TYPE_FP32
    dims: [ 3, -1, -1 ]
  }
]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 2000
}
instance_group [
  {
    count: 1
    # To run on GPUs (ONNX Runtime's CUDA provider), use kind: KIND_GPU and
    # optionally gpus: [ 0 ] to pick devices; count is then per GPU.
    kind: KIND_CPU
  }
]
`

const wantStarGANConfig = `# Triton Inference Server model configuration, written by ` + "`ganrt export --triton`" + `.
# StarGAN generator (conv_dim 8, c_dim 5, repeat_num 2).
# Pixels are RGB float32 in [-1,1]: x/127.5 - 1 in, (y+1)*127.5 out.
# label: one float per entry, in this order: Black_Hair, Blond_Hair, Brown_Hair, Male, Young.
name: "celeba"
platform: "onnxruntime_onnx"
max_batch_size: 16
input [
  {
    name: "image"
    data_type: TYPE_FP32
    dims: [ 3, 128, 128 ]
  },
  {
    name: "label"
    data_type: TYPE_FP32
    dims: [ 5 ]
  }
]
output [
  {
    name: "output"
    data_type: TYPE_FP32
    dims: [ 3, 128, 128 ]
  }
]
dynamic_batching {
  preferred_batch_size: [ 8, 16 ]
  max_queue_delay_microseconds: 500
}
instance_group [
  {
    count: 1
    # To run on GPUs (ONNX Runtime's CUDA provider), use kind: KIND_GPU and
    # optionally gpus: [ 0 ] to pick devices; count is then per GPU.
    kind: KIND_CPU
  }
]
`

func loadTritonModel(t *testing.T, name string, domains []string) *Model {
	t.Helper()
	m, err := Load(filepath.Join(goldenDir, name+".pth"), Overrides{Domains: domains})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTritonRepository writes repositories for both generators and checks
// config.pbtxt against the golden text, that it parses as Triton's model
// config text format, and that model.onnx has the bytes of ONNX.
func TestTritonRepository(t *testing.T) {
	for _, tc := range []struct {
		name    string
		model   *Model
		opts    TritonOptions
		want    string
		dirName string
	}{
		{"cyclegan", loadTritonModel(t, "cyclegan_resnet6_ngf8", nil), TritonOptions{}, wantCycleGANConfig, "cyclegan_resnet6_ngf8"},
		{"stargan", loadTritonModel(t, "stargan_g_c5", tritonStarDomains),
			TritonOptions{Name: "celeba", MaxBatch: 16, QueueDelay: 500 * time.Microsecond, ONNX: ONNXOptions{Height: 128, Width: 128}},
			wantStarGANConfig, "celeba"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root, err := WriteTriton(tc.model, dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tc.dirName); root != want {
				t.Errorf("model folder %s; want %s", root, want)
			}
			config, err := os.ReadFile(filepath.Join(root, "config.pbtxt"))
			if err != nil {
				t.Fatal(err)
			}
			if string(config) != tc.want {
				t.Errorf("config.pbtxt:\n%s\nwant:\n%s", config, tc.want)
			}
			checkTritonText(t, config, tc.model.Spec.CDim)

			model, err := os.ReadFile(filepath.Join(root, "1", "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ONNX(tc.model, tc.opts.ONNX)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(model, want) {
				t.Errorf("model.onnx (%d bytes) differs from the ONNX export (%d bytes)", len(model), len(want))
			}
			// Nothing else: no temporary files left behind.
			var files []string
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					files = append(files, filepath.ToSlash(rel))
				}
				return err
			})
			if got, want := strings.Join(files, " "), tc.dirName+"/1/model.onnx "+tc.dirName+"/config.pbtxt"; got != want {
				t.Errorf("files %s; want %s", got, want)
			}

			// An existing version is not replaced unless asked to; then the
			// bytes are the same (deterministic, atomic replace).
			if _, err := WriteTriton(tc.model, dir, tc.opts); err == nil || !strings.Contains(err.Error(), "already has version 1") {
				t.Fatalf("a second export: %v; want a refusal to replace version 1", err)
			}
			over := tc.opts
			over.Overwrite = true
			if _, err := WriteTriton(tc.model, dir, over); err != nil {
				t.Fatal(err)
			}
			again, _ := os.ReadFile(filepath.Join(root, "config.pbtxt"))
			if !bytes.Equal(again, config) {
				t.Error("a second export wrote a different config.pbtxt")
			}
			// A new version goes beside the old one.
			v2 := tc.opts
			v2.Version = 2
			if _, err := WriteTriton(tc.model, dir, v2); err != nil {
				t.Fatal(err)
			}
			for _, v := range []string{"1", "2"} {
				if b, err := os.ReadFile(filepath.Join(root, v, "model.onnx")); err != nil || !bytes.Equal(b, want) {
					t.Errorf("version %s: %d bytes, %v; want the model", v, len(b), err)
				}
			}
			// A version whose config differs would change the others: refused.
			other := v2
			other.Version, other.MaxBatch = 3, 2
			if _, err := WriteTriton(tc.model, dir, other); err == nil || !strings.Contains(err.Error(), "serves every version") {
				t.Errorf("a different config: %v; want a refusal", err)
			}
		})
	}
}

func TestTritonErrors(t *testing.T) {
	cyc := loadTritonModel(t, "cyclegan_resnet6_ngf8", nil)
	for _, tc := range []struct {
		name string
		opts TritonOptions
		want string
	}{
		{"fixed batch", TritonOptions{ONNX: ONNXOptions{Batch: 4}}, "dynamic batch dimension"},
		{"bad name", TritonOptions{Name: "a/b"}, "plain folder name"},
		{"bad max batch", TritonOptions{MaxBatch: -1}, "max batch size"},
		{"bad preferred", TritonOptions{MaxBatch: 4, PreferredBatch: []int{8}}, "preferred batch sizes"},
		{"bad size", TritonOptions{ONNX: ONNXOptions{Height: 30, Width: 32}}, "multiples of 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := WriteTriton(cyc, dir, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want one containing %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a failed export left %d entries in the repository", len(entries))
			}
		})
	}
	disc := loadTritonModel(t, "cyclegan_patchgan_basic_ndf8", nil)
	if _, err := TritonConfig(disc, TritonOptions{}); err == nil || !strings.Contains(err.Error(), "needs a generator") {
		t.Errorf("discriminator: err = %v; want a generator error", err)
	}
}

func TestTritonName(t *testing.T) {
	cyc := models.Spec{Kind: models.CycleGANGenerator, NetG: "resnet_9blocks"}
	star := models.Spec{Kind: models.StarGANGenerator}
	for _, tc := range []struct {
		path string
		spec models.Spec
		want string
	}{
		{"runs/h2z/latest_net_G_A.safetensors", cyc, "h2z_G_A"},
		{"checkpoints/horse2zebra_cyclegan/15_net_G_B.pth", cyc, "horse2zebra_cyclegan_G_B"},
		{"/latest_net_G_A.pth", cyc, "cyclegan_resnet_9blocks_G_A"},
		{"stargan_celeba/models/200000-G.ckpt", star, "stargan_celeba"},
		{"runs/my celeba/6-G.safetensors", star, "my_celeba"},
		{"/200000-G.ckpt", star, "stargan"},
		{"/x/my model (1).pth", cyc, "my_model__1_"},
		{"horse2zebra.pth", cyc, "horse2zebra"},
	} {
		if got := TritonName(tc.path, tc.spec); got != tc.want {
			t.Errorf("TritonName(%q) = %q; want %q", tc.path, got, tc.want)
		}
	}
}

// checkTritonText parses config as text-format protobuf against the part of
// Triton's ModelConfig (model_config.proto, package inference) that ganrt
// writes: field names, types and enum value names as Triton declares them,
// so a misspelt or mistyped field fails here. It also checks a few values.
func checkTritonText(t *testing.T, config []byte, cdim int) {
	t.Helper()
	md := tritonConfigDescriptor(t)
	msg := dynamicpb.NewMessage(md)
	if err := prototext.Unmarshal(config, msg); err != nil {
		t.Fatalf("config.pbtxt does not parse as Triton's ModelConfig: %v", err)
	}
	get := func(m protoreflect.Message, name string) protoreflect.Value {
		return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name)))
	}
	if p := get(msg, "platform").String(); p != "onnxruntime_onnx" {
		t.Errorf("platform %q", p)
	}
	inputs := get(msg, "input").List()
	wantInputs := 1
	if cdim > 0 {
		wantInputs = 2
	}
	if inputs.Len() != wantInputs {
		t.Fatalf("%d inputs; want %d", inputs.Len(), wantInputs)
	}
	if n := get(inputs.Get(0).Message(), "name").String(); n != InputImage {
		t.Errorf("input 0 is %q", n)
	}
	if cdim > 0 {
		dims := get(inputs.Get(1).Message(), "dims").List()
		if dims.Len() != 1 || dims.Get(0).Int() != int64(cdim) {
			t.Errorf("label dims %v; want [%d]", dims, cdim)
		}
	}
	groups := get(msg, "instance_group").List()
	if groups.Len() != 1 || get(groups.Get(0).Message(), "kind").Enum() != 2 {
		t.Errorf("instance_group is not one KIND_CPU group")
	}
}

// tritonConfigDescriptor builds the descriptor of the ModelConfig subset.
func tritonConfigDescriptor(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, repeated bool, typeName string) *descriptorpb.FieldDescriptorProto {
		label := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		if repeated {
			label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		}
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(), Label: label.Enum()}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	const (
		str   = descriptorpb.FieldDescriptorProto_TYPE_STRING
		i32   = descriptorpb.FieldDescriptorProto_TYPE_INT32
		i64   = descriptorpb.FieldDescriptorProto_TYPE_INT64
		u64   = descriptorpb.FieldDescriptorProto_TYPE_UINT64
		enum  = descriptorpb.FieldDescriptorProto_TYPE_ENUM
		msg   = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
		multi = true
	)
	enumValues := func(names ...string) []*descriptorpb.EnumValueDescriptorProto {
		var vs []*descriptorpb.EnumValueDescriptorProto
		for i, n := range names {
			vs = append(vs, &descriptorpb.EnumValueDescriptorProto{Name: proto.String(n), Number: proto.Int32(int32(i))})
		}
		return vs
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("model_config_subset.proto"),
		Package: proto.String("inference"),
		Syntax:  proto.String("proto3"),
		EnumType: []*descriptorpb.EnumDescriptorProto{{
			Name: proto.String("DataType"),
			Value: enumValues("TYPE_INVALID", "TYPE_BOOL", "TYPE_UINT8", "TYPE_UINT16", "TYPE_UINT32", "TYPE_UINT64",
				"TYPE_INT8", "TYPE_INT16", "TYPE_INT32", "TYPE_INT64", "TYPE_FP16", "TYPE_FP32", "TYPE_FP64", "TYPE_STRING", "TYPE_BF16"),
		}},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("ModelInput"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, str, false, ""),
				field("data_type", 2, enum, false, ".inference.DataType"),
				field("dims", 4, i64, multi, ""),
			}},
			{Name: proto.String("ModelOutput"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, str, false, ""),
				field("data_type", 2, enum, false, ".inference.DataType"),
				field("dims", 3, i64, multi, ""),
			}},
			{Name: proto.String("ModelDynamicBatching"), Field: []*descriptorpb.FieldDescriptorProto{
				field("preferred_batch_size", 1, i32, multi, ""),
				field("max_queue_delay_microseconds", 2, u64, false, ""),
			}},
			{Name: proto.String("ModelInstanceGroup"),
				EnumType: []*descriptorpb.EnumDescriptorProto{{Name: proto.String("Kind"),
					Value: enumValues("KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL")}},
				Field: []*descriptorpb.FieldDescriptorProto{
					field("name", 1, str, false, ""),
					field("kind", 4, enum, false, ".inference.ModelInstanceGroup.Kind"),
					field("count", 2, i32, false, ""),
					field("gpus", 3, i32, multi, ""),
				}},
			{Name: proto.String("ModelConfig"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, str, false, ""),
				field("platform", 2, str, false, ""),
				field("max_batch_size", 4, i32, false, ""),
				field("input", 5, msg, multi, ".inference.ModelInput"),
				field("output", 6, msg, multi, ".inference.ModelOutput"),
				field("instance_group", 7, msg, multi, ".inference.ModelInstanceGroup"),
				field("dynamic_batching", 11, msg, false, ".inference.ModelDynamicBatching"),
			}},
		},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.Messages().ByName("ModelConfig")
}

// TestTritonTextCheck makes sure checkTritonText's parser is strict: a
// misspelt field or enum value does not parse.
func TestTritonTextCheck(t *testing.T) {
	md := tritonConfigDescriptor(t)
	for _, bad := range []string{"max_batch: 8", "input [ { data_type: TYPE_FLOAT32 } ]", "instance_group [ { kind: CPU } ]"} {
		if err := prototext.Unmarshal([]byte(bad), dynamicpb.NewMessage(md)); err == nil {
			t.Errorf("%q parsed; want an error", bad)
		}
	}
}
