#!/usr/bin/env bash
# etcd-stack as a library (components/library.ts) for other Pulumi programs: JavaScript and
# declarations in OUT (default dist/), with a package.json of their own, so that
# `npm install <repo>/dist` (or the tarball `npm pack dist` makes) gives `import { EtcdCluster } from "etcd-stack"`.
# The project's own package.json stays the program's: Pulumi's Node.js host reads its `main`, and
# an `exports` there would make the engine look for the program in it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(realpath -m "${1:-$repo/dist}")"
rm -rf "$out"
node "$repo/node_modules/typescript/bin/tsc" -p "$repo/tsconfig.lib.json" --outDir "$out"
node -e '
  const [root, out] = process.argv.slice(1);
  const p = require(`${root}/package.json`);
  const lib = { name: p.name, version: p.version, description: p.description, license: p.license,
    main: "library.js", types: "library.d.ts", engines: p.engines,
    dependencies: Object.fromEntries(Object.entries(p.dependencies).filter(([n]) => n !== "@pulumi/pulumi")),
    // The program that uses it brings its own @pulumi/pulumi: one engine connection per program.
    peerDependencies: { "@pulumi/pulumi": p.dependencies["@pulumi/pulumi"] } };
  require("fs").writeFileSync(`${out}/package.json`, JSON.stringify(lib, null, 2) + "\n");
' "$repo" "$out"
cp "$repo/README.md" "$out/README.md"
echo "$out"
