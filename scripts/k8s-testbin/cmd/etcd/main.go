// Command etcd is upstream etcd's server main (go.etcd.io/etcd/server/v3/main.go does exactly
// this): its module cannot be `go install`ed because its go.mod has replace directives.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
