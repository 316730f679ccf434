// Oracle for src/version/go.test.ts: "V<US>v" lines print semver.IsValid(v),
// "P<US>a<US>b" lines print semver.Compare(a, b) (golang.org/x/mod/semver).
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		f := strings.SplitN(in.Text(), "\x1f", 3)
		if f[0] == "V" {
			fmt.Fprintln(out, semver.IsValid(f[1]))
		} else {
			fmt.Fprintln(out, semver.Compare(f[1], f[2]))
		}
	}
}
