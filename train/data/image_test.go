package data

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image/png"
	"strings"
	"testing"
)

// pngHeader returns the start of a PNG that claims a w x h RGB image.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestDecodeErrors(t *testing.T) {
	var good bytes.Buffer
	if err := png.Encode(&good, testImage(8, 8, 1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "unknown format"},
		{"text", []byte("hello"), "unknown format"},
		{"truncated png", good.Bytes()[:good.Len()/2], ""},
		{"pixel bomb", pngHeader(20000, 20000), "exceeds the limit"},
		{"truncated ppm", []byte("P6\n4 4\n255\n\x00\x01"), "truncated"},
		{"ppm bad maxval", []byte("P5 1 1 70000\n\x00"), "maxval"},
		{"ppm sample > maxval", []byte("P2 1 1 10 11"), "exceeds maxval"},
	} {
		_, err := Decode(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v; want an error containing %q", c.name, err, c.want)
		}
	}
}
