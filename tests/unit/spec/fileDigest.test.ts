/** sha256File: one read per file per run, yet a file replaced since (another size or time) is read again. */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sha256File } from "../../../components/spec/config";

describe("local file digests", () => {
    // Made in `before`, not in the describe body: Stryker runs the suite again in the same process.
    let dir: string;
    let file: string;
    const digestOf = (content: string) => crypto.createHash("sha256").update(content).digest("hex");
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-digest-"));
        file = path.join(dir, "release.tar.gz");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("digests the file, and a replaced file anew", () => {
        fs.writeFileSync(file, "first release");
        assert.equal(sha256File(file), digestOf("first release"));
        assert.equal(sha256File(path.join(dir, ".", "release.tar.gz")), digestOf("first release"), "the same file by another spelling");
        fs.writeFileSync(file, "a second, longer release");
        assert.equal(sha256File(file), digestOf("a second, longer release"));
        // Same size, another modification time: read again too.
        fs.writeFileSync(file, "A second, longer release");
        fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
        assert.equal(sha256File(file), digestOf("A second, longer release"));
    });

    it("reads a file whose size and time are unchanged only once", () => {
        fs.writeFileSync(file, "staged once");
        // The module object itself (an `import * as` namespace is read-only), which config.ts reads through.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const nodeFs = require("fs") as typeof fs;
        const read = nodeFs.readFileSync;
        let reads = 0;
        nodeFs.readFileSync = ((...args: Parameters<typeof fs.readFileSync>) => { reads++; return read(...args); }) as typeof fs.readFileSync;
        try {
            for (let i = 0; i < 7; i++) assert.equal(sha256File(file), digestOf("staged once"));
        } finally {
            nodeFs.readFileSync = read;
        }
        assert.equal(reads, 1, "seven members, one read");
    });
});
