package version

import (
	"runtime"
	"testing"
)

func TestBuildString(t *testing.T) {
	for _, tt := range []struct {
		b    Build
		want string
	}{
		{Build{Version: "1.0", Commit: "0123456789abcdef", Modified: true, CommitTime: "2026-01-02T03:04:05Z"}, "1.0 (commit 0123456789ab, modified, 2026-01-02T03:04:05Z)"},
		{Build{Version: "1.0", Commit: "abc"}, "1.0 (commit abc)"},
		{Build{Version: "1.0", Module: "v1.0.0"}, "1.0 (module v1.0.0)"},
		{Build{Version: "1.0", Module: "(devel)"}, "1.0 (commit unknown: built without VCS information)"},
	} {
		if got := tt.b.String(); got != tt.want {
			t.Errorf("%+v.String() = %q; want %q", tt.b, got, tt.want)
		}
	}
	if b := Read(); b.Version != Version || b.Go != runtime.Version() || b.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("Read() = %+v", b)
	}
}
