module github.com/ganrt/ganrt/benchmarks/translate/resizecmp

go 1.26.8

require (
	github.com/nfnt/resize v0.0.0-20180221191011-83c6a9932646
	golang.org/x/image v0.48.0
)

require github.com/ganrt/ganrt v0.0.0

replace github.com/ganrt/ganrt => ../../..
