module github.com/ganrt/ganrt

go 1.26.8

require google.golang.org/protobuf v1.36.12

require (
	github.com/nlpodyssey/gopickle v0.2.0 // indirect
	github.com/nlpodyssey/safetensors v0.0.0-20250209183917-bfb01cc25f7c // indirect
	github.com/x448/float16 v0.8.4 // indirect
	github.com/yalue/onnxruntime_go v1.27.0 // indirect
)
