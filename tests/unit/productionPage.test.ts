/**
 * docs/production.md keeps the shape tests/lab/quickstart.docs.ts runs (`npm run test:quickstart`):
 * the sections it executes hold their `bash` blocks, and the names it maps to the lab are the ones
 * the page and its example stack use.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { pageBlocks } from "../lab/productionPage";

const repoRoot = path.join(__dirname, "..", "..");
const page = fs.readFileSync(path.join(repoRoot, "docs/production.md"), "utf8");

describe("docs/production.md: the quickstart's runnable sections", () => {
    it("sections 1, 3, 4, 5 and 6 hold the bash blocks the lab run executes; a missing section is an error", () => {
        for (const n of [1, 3, 4, 5, 6]) assert.ok(pageBlocks(page, n).length >= 1, `section ${n}`);
        assert.match(pageBlocks(page, 1).join("\n"), /^pulumi login 'postgres:\/\/pulumi@db\.example:5432\//m);
        assert.match(pageBlocks(page, 4).join("\n"), /^ssh ops@bastion\.prod\.example\.com ssh-keyscan/m);
        assert.match(pageBlocks(page, 6).join("\n"), /^pulumi up --policy-pack policy/m);
        assert.throws(() => pageBlocks(page, 9), /no section "## 9\."/);
    });

    it("the example's hosts are the ones the page's commands name", () => {
        const example = fs.readFileSync(path.join(repoRoot, "examples/stacks/Pulumi.prod.yaml"), "utf8");
        const addresses = [...example.matchAll(/address: (\S+)/g)].map((m) => m[1]);
        assert.deepEqual(addresses, ["10.30.1.11", "10.30.1.12", "10.30.2.11", "10.30.2.12", "10.30.3.11"]);
        assert.match(example, /host: bastion\.prod\.example\.com/);
        assert.ok(pageBlocks(page, 4).join("\n").includes(addresses.join(" ")), "step 4 scans every member");
    });
});
